#pragma once

// Name resolution for the proxy: the name it checked, and no other.

#include <netdb.h>

#include <string>

namespace para::proxy {

/// getaddrinfo(host) for TCP, any family, with the resolver's search list
/// switched off: a name that does not resolve is never completed into
/// another one (`nope.allowed.test` into `nope.allowed.test.corp.example`,
/// with `search corp.example` in resolv.conf), so the addresses checked and
/// dialled are the name's own. /etc/hosts still applies, and resolv.conf is
/// re-read on each call. Blocking (call it off the event loop); returns
/// getaddrinfo's code, and on success `*result` for freeaddrinfo(). Without
/// glibc the system's resolver behaves as it does.
int resolve_exactly(const std::string& host, addrinfo** result);

}  // namespace para::proxy
