#include "mcp/local_peer.h"

// Systems without sock_diag and /proc/<pid>/fd: the peer cannot be told
// apart, so every connection is `unchecked` (docs/sandboxing.md says what
// that leaves open, and that a bearer token closes it).

namespace para::mcp {

bool can_check_local_peers() {
  return false;
}

PeerCheck check_local_peer(const std::string&, int, const std::string&, int) {
  return {PeerCheck::Verdict::unchecked, "this system cannot identify local peers"};
}

PeerCheck PeerChecker::check(const std::string& peer_addr, int peer_port,
                             const std::string& local_addr, int local_port) {
  return check_local_peer(peer_addr, peer_port, local_addr, local_port);
}

}  // namespace para::mcp
