// libFuzzer target for the proxy's parsers of untrusted bytes: the request
// head parser, the host canonicaliser, the ClientHello SNI parser and the
// policy match on whatever they produce. Besides "no crash, no sanitizer
// report", it checks the invariants the proxy relies on:
//   - a canonical host canonicalises to itself (one spelling);
//   - a parsed head's size lies within the input;
//   - the upstream request built from a head has CR only in CRLF.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/head.h"
#include "proxy/host.h"
#include "proxy/policy.h"
#include "proxy/tls_hello.h"

using namespace para::proxy;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_canonical(const Host& h) {
  const auto again = canonical_host(h.kind == HostKind::ipv6 ? host_for_url(h) : h.text);
  check(again.has_value() && *again == h);
  for (char c : h.text)
    check(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
}

const Policy& policy() {
  static const auto p = build_policy({.allowed = {"allowed.test", "*.wild.test", "127.0.0.1:3000",
                                                  "[::1]:8080", "ssh.test:22/plain"},
                                      .denied = {"bad.allowed.test"}});
  return **p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto h = canonical_host(input)) check_canonical(*h);
  if (auto a = split_authority(input)) {
    if (auto h = canonical_host(a->host)) check_canonical(*h);
  }

  // The origin's side, any bytes under any head limit: never more out than
  // in, and nothing left pending once the heads are done.
  {
    std::string pending(input);
    bool done = false;
    const std::string out = take_response_heads(pending, size % 4096, done);
    check(done || out.size() <= size);
    check(!done || pending.empty());
  }

  const ParsedHead parsed = parse_head(input, 16 * 1024);
  if (parsed.status == ParsedHead::Status::complete) {
    const RequestHead& head = parsed.head;
    check(head.size <= size);
    check_canonical(head.host);
    const Decision d =
        policy().match(head.host, head.port, head.connect ? Scheme::connect : Scheme::http);
    check(!d.reason.empty());
    if (!head.connect) {
      const std::string upstream = origin_request(head);
      for (size_t i = 0; i < upstream.size(); ++i) {
        if (upstream[i] == '\r') check(i + 1 < upstream.size() && upstream[i + 1] == '\n');
        if (upstream[i] == '\n') check(i > 0 && upstream[i - 1] == '\r');
      }
    }
  } else if (parsed.status == ParsedHead::Status::invalid) {
    check(parsed.error_status == 400 || parsed.error_status == 405);
    check(parsed.error.find('\n') == std::string::npos &&
          parsed.error.find('\r') == std::string::npos);
  }

  const ClientHello hello = parse_client_hello(input, 16 * 1024);
  if (hello.status == ClientHello::Status::complete && hello.server_name) {
    if (auto h = canonical_host(*hello.server_name)) check_canonical(*h);
  }
  return 0;
}
