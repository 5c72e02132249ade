#pragma once

// The agent command: a configurable argv template, never a shell string.

#include <string>
#include <vector>

#include "core/result.h"

namespace para::session {

struct AgentValues {
  std::string prompt;       // {prompt}
  std::string prompt_file;  // {prompt_file}: a file holding the prompt
  std::string session;      // {session}
  std::string worktree;     // {worktree}
};

/// Linux refuses a single argument longer than 128 KiB (MAX_ARG_STRLEN).
inline constexpr size_t kMaxArgLength = 128 * 1024 - 1;

/// Replaces {prompt}, {prompt_file}, {session} and {worktree} in each element
/// (once, left to right; substituted text is never expanded again; other
/// braces are kept). Each element stays one argv element whatever it holds.
/// Errors: invalid_argument for an empty template or an element longer than
/// the kernel accepts (use {prompt_file} for long prompts).
Result<std::vector<std::string>> expand_agent_command(const std::vector<std::string>& command,
                                                      const AgentValues& values);

/// The instructions para writes to <worktree>/CLAUDE.local.md: how to report
/// status and finish.
std::string agent_instructions(const std::string& session);

}  // namespace para::session
