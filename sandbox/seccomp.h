#pragma once

// The seccomp filter bwrap loads (--seccomp FD) when the sandbox shares
// nothing with a relay: it refuses socket(AF_UNIX, ...), so no host Unix
// socket can be reached by path or in the abstract namespace (which a mount
// cannot hide while the network namespace is shared), and io_uring, whose
// IORING_OP_SOCKET would bypass that. socketpair() stays allowed: it reaches
// nothing outside, and libuv (Node) uses it for child stdio. System calls of
// a foreign ABI (i386 via int 0x80, x32) are refused wholesale, since they
// have their own socket numbers (socketcall).

#include <cstdint>
#include <string>

namespace para::sandbox {

/// The filter as raw `struct sock_filter` bytes, ready to write to the fd.
std::string unix_socket_filter();

}  // namespace para::sandbox
