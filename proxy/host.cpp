#include "proxy/host.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <vector>

namespace para::proxy {
namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

std::vector<std::string_view> split_labels(std::string_view name) {
  std::vector<std::string_view> labels;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) {
      labels.push_back(name.substr(start));
      return labels;
    }
    labels.push_back(name.substr(start, dot - start));
    start = dot + 1;
  }
}

// WHATWG "ends in a number": the last label is all digits or 0x-hex. Such a
// host must parse as IPv4 or it is refused (no "evil.0x7f" names).
bool looks_numeric(std::string_view label) {
  if (label.empty()) return false;
  if (label.size() >= 2 && label[0] == '0' && label[1] == 'x') {
    for (char c : label.substr(2)) {
      if (!is_hex(c)) return false;
    }
    return true;
  }
  for (char c : label) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// One inet_aton part: decimal, octal (leading 0) or hex (0x). nullopt when
// it is not a number or exceeds 32 bits.
std::optional<uint64_t> parse_ipv4_part(std::string_view part) {
  if (part.empty()) return std::nullopt;
  unsigned base = 10;
  if (part.size() >= 2 && part[0] == '0' && part[1] == 'x') {
    base = 16;
    part.remove_prefix(2);
    if (part.empty()) return 0;  // "0x" is zero, as in WHATWG
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  uint64_t value = 0;
  for (char c : part) {
    unsigned digit = 0;
    if (is_digit(c)) {
      digit = static_cast<unsigned>(c - '0');
    } else if (base == 16 && is_hex(c)) {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > 0xffffffffULL) return std::nullopt;
  }
  return value;
}

Result<Host> parse_ipv4_aton(const std::vector<std::string_view>& labels, std::string_view name) {
  if (labels.size() > 4) {
    return fail(Errc::invalid_argument,
                "'" + std::string(name) + "' looks like an IPv4 address but has more than 4 parts");
  }
  std::vector<uint64_t> parts;
  for (std::string_view label : labels) {
    const std::optional<uint64_t> v = parse_ipv4_part(label);
    if (!v) {
      return fail(Errc::invalid_argument,
                  "'" + std::string(name) + "' ends in a number but is not an IPv4 address");
    }
    parts.push_back(*v);
  }
  uint64_t address = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] > 255) {
      return fail(Errc::invalid_argument,
                  "'" + std::string(name) + "' has an IPv4 part larger than 255");
    }
    address |= parts[i] << (8 * (3 - i));
  }
  const size_t rest_bits = 8 * (5 - parts.size());
  if (rest_bits < 64 && parts.back() >= (uint64_t{1} << rest_bits)) {
    return fail(Errc::invalid_argument,
                "'" + std::string(name) + "' has an IPv4 part out of range");
  }
  address |= parts.back();
  in_addr a{};
  a.s_addr = htonl(static_cast<uint32_t>(address));
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof text);
  return Host{text, HostKind::ipv4};
}

Result<Host> parse_ipv6(std::string_view inner) {
  if (inner.find('%') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "IPv6 zone IDs ('%') are refused");
  }
  if (inner.size() >= INET6_ADDRSTRLEN) {
    return fail(Errc::invalid_argument, "IPv6 address is too long");
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, inner.data(), inner.size());
  in6_addr a{};
  if (inet_pton(AF_INET6, buf, &a) != 1) {
    return fail(Errc::invalid_argument, "'" + printable(inner) + "' is not an IPv6 address");
  }
  // IPv4-mapped ::ffff:a.b.c.d is the IPv4 address itself.
  static constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.s6_addr, kMapped.data(), kMapped.size()) == 0) {
    in_addr v4{};
    std::memcpy(&v4.s_addr, a.s6_addr + 12, 4);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v4, text, sizeof text);
    return Host{text, HostKind::ipv4};
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, text, sizeof text);
  return Host{text, HostKind::ipv6};
}

}  // namespace

std::string printable(std::string_view bytes, size_t max, bool escape_quotes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(bytes[i]);
    const bool quote = c == '\\' || c == '\'' || c == '"';
    if (c >= 0x20 && c < 0x7f && (!quote || !escape_quotes)) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<Host> canonical_host(std::string_view raw) {
  if (raw.empty()) return fail(Errc::invalid_argument, "the host is empty");
  if (raw.front() == '[') {
    if (raw.size() < 2 || raw.back() != ']') {
      return fail(Errc::invalid_argument, "'" + printable(raw) + "' has an unclosed '['");
    }
    return parse_ipv6(raw.substr(1, raw.size() - 2));
  }
  // Refuse bad bytes before anything else reads the text.
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_argument,
                  "host '" + printable(raw) + "' contains a NUL or control byte");
    }
    if (c >= 0x80) {
      return fail(Errc::invalid_argument,
                  "host '" + printable(raw) +
                      "' contains non-ASCII bytes; write internationalised names in their "
                      "xn-- (punycode) form");
    }
    if (c == '%') {
      return fail(Errc::invalid_argument, "host '" + printable(raw) +
                                              "' contains '%' (percent-encoding and IPv6 zone "
                                              "IDs are refused)");
    }
  }
  if (raw.find(':') != std::string_view::npos) return parse_ipv6(raw);

  std::string name(raw);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_')) {
      return fail(Errc::invalid_argument, "host '" + printable(raw) + "' contains the character '" +
                                              printable(std::string_view(&c, 1)) +
                                              "' (only letters, digits, '-', '_' and '.')");
    }
  }
  if (name.back() == '.') name.pop_back();  // exactly one trailing dot
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string::npos) {
    return fail(Errc::invalid_argument, "host '" + printable(raw) + "' has an empty label");
  }
  if (name.size() > kMaxName) {
    return fail(Errc::invalid_argument, "host name is longer than 253 bytes");
  }
  const std::vector<std::string_view> labels = split_labels(name);
  for (std::string_view label : labels) {
    if (label.size() > kMaxLabel) {
      return fail(Errc::invalid_argument,
                  "host '" + printable(raw) + "' has a label longer than 63 bytes");
    }
  }
  if (looks_numeric(labels.back())) return parse_ipv4_aton(labels, name);
  return Host{std::move(name), HostKind::name};
}

std::string host_for_url(const Host& host) {
  return host.kind == HostKind::ipv6 ? "[" + host.text + "]" : host.text;
}

std::string authority_text(const Host& host, uint16_t port) {
  return host_for_url(host) + ":" + std::to_string(port);
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text[0] == '0') return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

Result<Authority> split_authority(std::string_view text) {
  Authority out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_argument, "'" + printable(text) + "' has an unclosed '['");
    }
    out.host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fail(Errc::invalid_argument,
                    "'" + printable(text) + "' has text after the IPv6 address");
      }
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return fail(Errc::invalid_argument,
                  "'" + printable(text) + "': IPv6 addresses must be written in brackets");
    }
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) return fail(Errc::invalid_argument, "the host is empty");
  if (has_port) {
    out.port = parse_port(port_text);
    if (!out.port) {
      return fail(Errc::invalid_argument,
                  "'" + printable(port_text) +
                      "' is not a port (1-65535, decimal digits, no leading zero)");
    }
  }
  return out;
}

}  // namespace para::proxy
