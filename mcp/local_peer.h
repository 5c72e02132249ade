#pragma once

// Who is at the other end of a TCP connection made from this machine.
//
// para's standard sandbox profile shares the host's network, so an agent in
// it can reach a loopback HTTP server like any host process. Tools that
// start unsandboxed sessions must not answer it. The HTTP transport
// therefore serves a local peer only when every process holding the client
// socket runs as this process's user, in this process's user and PID
// namespaces. bubblewrap (every para sandbox) and containers always create
// both namespaces; the host's own clients share them.
//
// Linux finds the client socket with sock_diag (by its address pair) and
// its holders by scanning /proc/<pid>/fd; other systems cannot tell, and
// report `unchecked`.

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace para::mcp {

struct PeerCheck {
  enum class Verdict {
    same_context,     // every holder: our user, our user and PID namespaces
    other_user,       // the socket or a holder belongs to another user
    other_namespace,  // a holder runs in another user or PID namespace
    unknown,          // a local socket whose holders could not be determined
    remote,           // not a socket of this machine's network namespace
    unchecked,        // this system cannot tell
  };
  Verdict verdict = Verdict::unknown;
  std::string detail;  // for logs and refusals: "pid 42 (curl) ...", never secrets
};

/// Whether this system can tell local peers apart (Linux); elsewhere every
/// check is `unchecked`.
bool can_check_local_peers();

/// Examines the connection from client `peer_addr`:`peer_port` to this
/// process's `local_addr`:`local_port` (numeric addresses, as accept()
/// reports them; IPv4-mapped IPv6 is understood). Blocking; costs one
/// netlink round trip plus a scan of /proc.
PeerCheck check_local_peer(const std::string& peer_addr, int peer_port,
                           const std::string& local_addr, int local_port);

/// check_local_peer with a bounded cache keyed by the kernel's socket
/// cookie (never reused while the system runs), so that keep-alive
/// requests on one connection scan /proc once; a scan looks at the last
/// holder found first (a client reconnecting) and reads only the processes
/// it has not seen before. Thread-safe; scans run one at a time.
class PeerChecker {
 public:
  PeerCheck check(const std::string& peer_addr, int peer_port, const std::string& local_addr,
                  int local_port);

 private:
  std::mutex mutex_;  // cache_
  std::unordered_map<uint64_t, PeerCheck> cache_;
  std::mutex scan_mutex_;  // the rest
  pid_t last_holder_ = 0;
  std::unordered_map<pid_t, int> contexts_;  // Linux: each pid's namespaces, last read
};

/// Whether a verdict lets a request through: same_context, remote (other
/// machines are the bearer token's business) and unchecked.
inline bool peer_admitted(const PeerCheck& check) {
  using V = PeerCheck::Verdict;
  return check.verdict == V::same_context || check.verdict == V::remote ||
         check.verdict == V::unchecked;
}

}  // namespace para::mcp
