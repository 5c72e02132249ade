#pragma once

// One canonical spelling of a host, computed once and used to match the
// policy, to dial and to log (sandbox-anchors.md takeaway 2). Pure functions.
//
// Canonical form:
//   - names: lower case ASCII [a-z0-9_-] labels joined by '.', one trailing
//     dot removed, no empty label, labels <= 63 bytes, whole <= 253 bytes;
//   - IPv4: dotted decimal, from every inet_aton spelling (127.1, 0x7f.0.0.1,
//     2130706433, 017700000001) and from IPv4-mapped IPv6 ([::ffff:1.2.3.4]);
//   - IPv6: RFC 5952 text without brackets ("::1"), zone IDs refused.
// A name whose last label is numeric (decimal or 0x-hex) is read as IPv4 and
// refused if it is not a valid one, as the WHATWG URL parser does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace para::proxy {

enum class HostKind { name, ipv4, ipv6 };

struct Host {
  std::string text;  // canonical, without brackets
  HostKind kind = HostKind::name;
  bool is_ip() const { return kind != HostKind::name; }
  bool operator==(const Host&) const = default;
};

/// Canonicalises a host as written in a request target, a Host header, a TLS
/// SNI or a policy entry. Accepts "[v6]" and bare v6. Errors: invalid_argument
/// with a sentence saying what is wrong (never echoing control bytes).
Result<Host> canonical_host(std::string_view raw);

/// "host" for names and IPv4, "[v6]" for IPv6.
std::string host_for_url(const Host& host);
/// host_for_url(host) + ":" + port.
std::string authority_text(const Host& host, uint16_t port);

struct Authority {
  std::string_view host;         // as written; IPv6 keeps its brackets
  std::optional<uint16_t> port;  // nullopt when no ":port" was written
};

/// Splits "host", "host:port", "[v6]" or "[v6]:port". Ports are 1-65535 in
/// decimal without sign or leading zero. Errors: invalid_argument.
Result<Authority> split_authority(std::string_view text);

/// Parses a port: 1-65535, decimal digits only, no leading zero.
std::optional<uint16_t> parse_port(std::string_view text);

/// A safe rendering of untrusted bytes for error messages and logs: printable
/// ASCII kept, everything else as \xNN, cut at `max` bytes. Quotes and
/// backslashes are escaped too (the text goes between quotes), unless
/// `escape_quotes` is false (for a whole message already made of such parts).
std::string printable(std::string_view bytes, size_t max = 80, bool escape_quotes = true);

}  // namespace para::proxy
