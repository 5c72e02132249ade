#pragma once

// Processes by pid, as /proc shows them: identity against pid reuse, and the
// descendants a supervisor must stop.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "session/state.h"

namespace para::session {

/// The start time of a process (/proc/<pid>/stat field 22), or nullopt if it
/// does not exist. Together with the pid it names one process for good.
std::optional<uint64_t> process_start_time(pid_t pid);

/// Whether pid is alive (not a zombie) and, when `start` is given, is still
/// the process that had that start time.
bool process_alive(pid_t pid, std::optional<uint64_t> start = std::nullopt);

/// Records the calling process as the owner of a start or cancel in
/// progress (pid and start time), and clears that record.
void take_ownership(SessionState& s);
void release_ownership(SessionState& s);
/// Whether the process recorded as the owner still runs: not when its pid
/// now names another process (reused, or from another pid namespace).
bool owner_alive(const SessionState& s);

/// The pids whose parent is `parent`.
std::vector<pid_t> child_processes(pid_t parent);

/// Signals a process group, then SIGKILLs it after `grace` if any member
/// survives. Returns when the group is gone or after grace + 2 s.
void stop_process_group(pid_t pgid, std::chrono::milliseconds grace);

}  // namespace para::session
