#pragma once

// Classifies the addresses a name resolved to, so that the proxy dials only
// public destinations unless the policy allows local ones (DNS rebinding and
// SSRF defence, sandbox-anchors.md takeaway 4). Pure, except
// own_interface_addresses() which reads getifaddrs().

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace para::proxy {

struct IpAddress {
  int family = AF_INET;             // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  bool operator==(const IpAddress&) const = default;
};

/// Parses canonical or ordinary numeric text ("10.0.0.1", "::1", "[::1]").
std::optional<IpAddress> parse_ip(std::string_view text);
/// From a sockaddr_in/sockaddr_in6; nullopt for other families.
std::optional<IpAddress> from_sockaddr(const sockaddr* sa);
/// "10.0.0.1" or "::1" (no brackets).
std::string to_string(const IpAddress& ip);

enum class AddressClass {
  public_address,
  loopback,       // 127/8, ::1
  unspecified,    // 0/8, ::
  link_local,     // 169.254/16, fe80::/10
  private_use,    // 10/8, 172.16/12, 192.168/16 (RFC 1918)
  shared,         // 100.64/10 (RFC 6598, CGNAT)
  unique_local,   // fc00::/7
  multicast,      // 224/4, ff00::/8
  broadcast,      // 255.255.255.255
  reserved,       // 240/4, 192.0.0/24, 198.18/15, documentation ranges, fec0::/10, ...
  metadata,       // cloud metadata endpoints (169.254.169.254, fd00:ec2::254, ...)
  own_interface,  // an address of one of this machine's interfaces
};

/// A short English phrase for logs and replies ("a private (RFC 1918) address").
const char* describe(AddressClass c);

/// Classifies an address. IPv4 embedded in IPv6 (mapped ::ffff:0:0/96,
/// compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16,
/// Teredo 2001::/32) is decoded and classified as the IPv4 it carries.
/// Metadata endpoints are recognised before the range they sit in.
AddressClass classify(const IpAddress& ip, std::span<const IpAddress> own_addresses = {});

/// Whether the proxy may dial this address. Metadata endpoints are always
/// refused; other non-public classes only when allow_local is true.
/// Returns nullopt when allowed, else the reason ("10.0.0.1 is a private ...").
std::optional<std::string> destination_refusal(const IpAddress& ip, bool allow_local,
                                               std::span<const IpAddress> own_addresses);

/// The addresses of this machine's interfaces (getifaddrs), loopback included.
std::vector<IpAddress> own_interface_addresses();

}  // namespace para::proxy
