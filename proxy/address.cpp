#include "proxy/address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace para::proxy {
namespace {

uint32_t v4_value(const IpAddress& ip) {
  return (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
         (uint32_t{ip.bytes[2]} << 8) | uint32_t{ip.bytes[3]};
}

IpAddress make_v4(uint32_t v) {
  IpAddress ip;
  ip.family = AF_INET;
  ip.bytes[0] = static_cast<uint8_t>(v >> 24);
  ip.bytes[1] = static_cast<uint8_t>(v >> 16);
  ip.bytes[2] = static_cast<uint8_t>(v >> 8);
  ip.bytes[3] = static_cast<uint8_t>(v);
  return ip;
}

bool in_v4(uint32_t v, uint32_t net, int bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (v & mask) == (net & mask);
}

constexpr uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// The first `bits` bits of the address equal those of `prefix`.
bool in_v6(const IpAddress& ip, std::initializer_list<uint8_t> prefix, int bits) {
  size_t i = 0;
  for (uint8_t p : prefix) {
    const int left = bits - static_cast<int>(i) * 8;
    if (left <= 0) break;
    const uint8_t mask = left >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - left));
    if ((ip.bytes[i] & mask) != (p & mask)) return false;
    ++i;
  }
  return true;
}

bool all_zero(const IpAddress& ip, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (ip.bytes[i] != 0) return false;
  }
  return true;
}

IpAddress v4_from_bytes(const uint8_t* p) {
  return make_v4((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
                 uint32_t{p[3]});
}

// The IPv4 address an IPv6 form carries, if it is one of the embedding forms.
std::optional<IpAddress> embedded_v4(const IpAddress& ip) {
  if (ip.family != AF_INET6) return std::nullopt;
  const uint8_t* b = ip.bytes.data();
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; not :: and ::1 themselves).
  if (all_zero(ip, 0, 10) && b[10] == 0xff && b[11] == 0xff) return v4_from_bytes(b + 12);
  if (all_zero(ip, 0, 12) && v4_value(v4_from_bytes(b + 12)) > 1) return v4_from_bytes(b + 12);
  // ::ffff:0:a.b.c.d (SIIT translated).
  if (all_zero(ip, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    return v4_from_bytes(b + 12);
  }
  // NAT64 well-known 64:ff9b::/96 and local-use 64:ff9b:1::/48 (RFC 8215, /96 spelling).
  if (in_v6(ip, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return v4_from_bytes(b + 12);
  if (in_v6(ip, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return v4_from_bytes(b + 12);
  // 6to4 2002:aabb:ccdd::/48.
  if (b[0] == 0x20 && b[1] == 0x02) return v4_from_bytes(b + 2);
  // Teredo 2001:0::/32: the client address is the last 32 bits, inverted.
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
    const uint8_t inv[4] = {static_cast<uint8_t>(~b[12]), static_cast<uint8_t>(~b[13]),
                            static_cast<uint8_t>(~b[14]), static_cast<uint8_t>(~b[15])};
    return v4_from_bytes(inv);
  }
  return std::nullopt;
}

bool is_metadata_v4(uint32_t v) {
  return v == v4(169, 254, 169, 254) ||  // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean
         v == v4(169, 254, 170, 2) ||    // AWS ECS task metadata
         v == v4(169, 254, 169, 123) ||  // AWS time sync
         v == v4(100, 100, 100, 200) ||  // Alibaba Cloud
         v == v4(168, 63, 129, 16) ||    // Azure wireserver
         v == v4(192, 0, 0, 192);        // Oracle Cloud
}

AddressClass classify_v4(uint32_t v) {
  if (is_metadata_v4(v)) return AddressClass::metadata;
  if (in_v4(v, v4(0, 0, 0, 0), 8)) return AddressClass::unspecified;
  if (in_v4(v, v4(127, 0, 0, 0), 8)) return AddressClass::loopback;
  if (in_v4(v, v4(169, 254, 0, 0), 16)) return AddressClass::link_local;
  if (in_v4(v, v4(10, 0, 0, 0), 8) || in_v4(v, v4(172, 16, 0, 0), 12) ||
      in_v4(v, v4(192, 168, 0, 0), 16)) {
    return AddressClass::private_use;
  }
  if (in_v4(v, v4(100, 64, 0, 0), 10)) return AddressClass::shared;
  if (v == v4(255, 255, 255, 255)) return AddressClass::broadcast;
  if (in_v4(v, v4(224, 0, 0, 0), 4)) return AddressClass::multicast;
  if (in_v4(v, v4(240, 0, 0, 0), 4) ||      // future use
      in_v4(v, v4(192, 0, 0, 0), 24) ||     // IETF protocol assignments
      in_v4(v, v4(192, 0, 2, 0), 24) ||     // TEST-NET-1
      in_v4(v, v4(198, 51, 100, 0), 24) ||  // TEST-NET-2
      in_v4(v, v4(203, 0, 113, 0), 24) ||   // TEST-NET-3
      in_v4(v, v4(198, 18, 0, 0), 15) ||    // benchmarking
      in_v4(v, v4(192, 88, 99, 0), 24)) {   // deprecated 6to4 relay anycast
    return AddressClass::reserved;
  }
  return AddressClass::public_address;
}

AddressClass classify_v6(const IpAddress& ip) {
  if (in_v6(ip, {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128)) {
    return AddressClass::metadata;  // AWS IMDS over IPv6, fd00:ec2::254
  }
  if (all_zero(ip, 0, 16)) return AddressClass::unspecified;
  if (all_zero(ip, 0, 15) && ip.bytes[15] == 1) return AddressClass::loopback;
  if (std::optional<IpAddress> inner = embedded_v4(ip)) return classify_v4(v4_value(*inner));
  if (in_v6(ip, {0xfe, 0x80}, 10)) return AddressClass::link_local;
  if (in_v6(ip, {0xfe, 0xc0}, 10)) return AddressClass::reserved;  // deprecated site-local
  if (in_v6(ip, {0xfc}, 7)) return AddressClass::unique_local;
  if (in_v6(ip, {0xff}, 8)) return AddressClass::multicast;
  if (in_v6(ip, {0x20, 0x01, 0x0d, 0xb8}, 32) ||        // documentation
      in_v6(ip, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64) ||  // discard-only
      in_v6(ip, {0x20, 0x01, 0x00, 0x02, 0, 0}, 48) ||  // benchmarking
      in_v6(ip, {0x3f, 0xff}, 20) ||                    // documentation (RFC 9637)
      !in_v6(ip, {0x20}, 3)) {  // outside 2000::/3 nothing is globally routable
    return AddressClass::reserved;
  }
  return AddressClass::public_address;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

std::optional<IpAddress> from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  IpAddress ip;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ip.family = AF_INET;
    std::memcpy(ip.bytes.data(), &in->sin_addr, 4);
    return ip;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ip.family = AF_INET6;
    std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

std::string to_string(const IpAddress& ip) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.family, ip.bytes.data(), text, sizeof text);
  return text;
}

const char* describe(AddressClass c) {
  switch (c) {
    case AddressClass::public_address:
      return "a public address";
    case AddressClass::loopback:
      return "a loopback address";
    case AddressClass::unspecified:
      return "an unspecified (0.0.0.0/8 or ::) address";
    case AddressClass::link_local:
      return "a link-local address";
    case AddressClass::private_use:
      return "a private (RFC 1918) address";
    case AddressClass::shared:
      return "a carrier-grade NAT (100.64.0.0/10) address";
    case AddressClass::unique_local:
      return "a unique-local IPv6 (fc00::/7) address";
    case AddressClass::multicast:
      return "a multicast address";
    case AddressClass::broadcast:
      return "the broadcast address";
    case AddressClass::reserved:
      return "a reserved address";
    case AddressClass::metadata:
      return "a cloud metadata endpoint";
    case AddressClass::own_interface:
      return "an address of this machine";
  }
  return "an unknown address";
}

AddressClass classify(const IpAddress& ip, std::span<const IpAddress> own_addresses) {
  const AddressClass c = ip.family == AF_INET ? classify_v4(v4_value(ip)) : classify_v6(ip);
  if (c != AddressClass::public_address) return c;
  const std::optional<IpAddress> inner = embedded_v4(ip);
  for (const IpAddress& own : own_addresses) {
    if (own == ip || (inner && own == *inner)) return AddressClass::own_interface;
  }
  return c;
}

std::optional<std::string> destination_refusal(const IpAddress& ip, bool allow_local,
                                               std::span<const IpAddress> own_addresses) {
  const AddressClass c = classify(ip, own_addresses);
  if (c == AddressClass::public_address) return std::nullopt;
  if (allow_local && c != AddressClass::metadata) return std::nullopt;
  std::string reason = to_string(ip) + " is " + describe(c);
  if (c != AddressClass::metadata) reason += " and local destinations are not allowed";
  return reason;
}

std::vector<IpAddress> own_interface_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* p = list; p != nullptr; p = p->ifa_next) {
    if (std::optional<IpAddress> ip = from_sockaddr(p->ifa_addr)) {
      if (std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace para::proxy
