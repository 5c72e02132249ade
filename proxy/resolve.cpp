#include "proxy/resolve.h"

// glibc applies the search list (RES_DNSRCH, and RES_DEFNAMES for names
// without a dot) after the name itself fails, in __res_context_search. The
// options live in the calling thread's _res, which getaddrinfo's DNS
// backend uses as long as they differ from what resolv.conf says (glibc
// then treats them as the program's own). res_init() first picks up a
// changed resolv.conf (a new network), then the two options are cleared.

#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

namespace para::proxy {

int resolve_exactly(const std::string& host, addrinfo** result) {
#ifdef __GLIBC__
  if (res_init() == 0) _res.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
#endif
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  return ::getaddrinfo(host.c_str(), nullptr, &hints, result);
}

}  // namespace para::proxy
