#pragma once

// The seccomp filter bwrap loads (--seccomp FD) in every Linux sandbox. It
// refuses:
// - the kernel keyring calls (keyctl, add_key, request_key): keyrings are not
//   namespaced, and the session keyring bwrap inherits from para can hold
//   the user's credentials (Kerberos tickets, tokens stored with keyctl);
// - io_uring, whose operations bypass per-syscall filtering (IORING_OP_SOCKET
//   would bypass the socket rule below) and which is a frequent kernel attack
//   surface;
// - system calls of a foreign ABI (i386 via int 0x80, x32), wholesale, since
//   they have their own numbers (socketcall);
// - with `refuse_unix_sockets` (every mode but proxied, whose relay needs a
//   Unix socket): socket(AF_UNIX, ...), so no host Unix socket can be reached
//   by path or in the abstract namespace (which a mount cannot hide while the
//   network namespace is shared). socketpair() stays allowed: it reaches
//   nothing outside, and libuv (Node) uses it for child stdio.
// Refused calls fail with EPERM, as in Docker's default profile.

#include <string>

namespace para::sandbox {

/// The filter as raw `struct sock_filter` bytes, ready to write to the fd.
std::string sandbox_filter(bool refuse_unix_sockets);

}  // namespace para::sandbox
