#include "proxy/tls_hello.h"

#include <cstdint>
#include <vector>

namespace para::proxy {
namespace {

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kClientHelloType = 1;
constexpr uint16_t kServerNameExtension = 0;
constexpr uint8_t kHostName = 0;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecord = (1 << 14) + 2048;

ClientHello result(ClientHello::Status s, std::string error = {}) {
  ClientHello h;
  h.status = s;
  h.error = std::move(error);
  return h;
}

// A bounds-checked reader over the handshake body.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(uint8_t* v) {
    if (data_.size() < 1) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool u16(uint16_t* v) {
    if (data_.size() < 2) return false;
    *v = static_cast<uint16_t>((static_cast<uint8_t>(data_[0]) << 8) |
                               static_cast<uint8_t>(data_[1]));
    data_.remove_prefix(2);
    return true;
  }
  bool bytes(size_t n, std::string_view* out) {
    if (data_.size() < n) return false;
    *out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool skip(size_t n) {
    std::string_view ignored;
    return bytes(n, &ignored);
  }
  bool empty() const { return data_.empty(); }

 private:
  std::string_view data_;
};

ClientHello parse_body(std::string_view body) {
  Reader r(body);
  uint16_t version = 0;
  uint8_t session_len = 0, compression_len = 0;
  uint16_t suites_len = 0;
  if (!r.u16(&version) || !r.skip(32) || !r.u8(&session_len) || session_len > 32 ||
      !r.skip(session_len) || !r.u16(&suites_len) || suites_len < 2 || suites_len % 2 != 0 ||
      !r.skip(suites_len) || !r.u8(&compression_len) || compression_len < 1 ||
      !r.skip(compression_len)) {
    return result(ClientHello::Status::invalid, "malformed TLS ClientHello");
  }
  ClientHello out = result(ClientHello::Status::complete);
  if (r.empty()) return out;  // no extensions at all: no SNI
  uint16_t extensions_len = 0;
  std::string_view extensions;
  if (!r.u16(&extensions_len) || !r.bytes(extensions_len, &extensions) || !r.empty()) {
    return result(ClientHello::Status::invalid, "malformed TLS ClientHello extensions");
  }
  Reader ext(extensions);
  std::vector<uint16_t> seen;
  while (!ext.empty()) {
    uint16_t type = 0, len = 0;
    std::string_view data;
    if (!ext.u16(&type) || !ext.u16(&len) || !ext.bytes(len, &data)) {
      return result(ClientHello::Status::invalid, "malformed TLS extension");
    }
    for (uint16_t s : seen) {
      if (s == type) return result(ClientHello::Status::invalid, "duplicate TLS extension");
    }
    seen.push_back(type);
    if (type != kServerNameExtension) continue;  // GREASE and everything else is skipped
    Reader names(data);
    uint16_t list_len = 0;
    std::string_view list;
    if (!names.u16(&list_len) || !names.bytes(list_len, &list) || !names.empty() || list_len == 0) {
      return result(ClientHello::Status::invalid, "malformed server_name extension");
    }
    Reader entries(list);
    while (!entries.empty()) {
      uint8_t name_type = 0;
      uint16_t name_len = 0;
      std::string_view name;
      if (!entries.u8(&name_type) || !entries.u16(&name_len) || !entries.bytes(name_len, &name)) {
        return result(ClientHello::Status::invalid, "malformed server_name entry");
      }
      if (name_type != kHostName) continue;
      if (out.server_name) {
        return result(ClientHello::Status::invalid, "more than one server name in ClientHello");
      }
      if (name.empty()) return result(ClientHello::Status::invalid, "empty server name");
      out.server_name = std::string(name);
    }
  }
  return out;
}

}  // namespace

ClientHello parse_client_hello(std::string_view bytes, size_t max_bytes) {
  // First walk the record headers without copying (this runs on every read
  // of a slow client), then reassemble the message once it is all there.
  std::string head;  // the first 4 bytes of the handshake message
  size_t payload = 0, pos = 0, needed = 0;
  std::vector<std::string_view> fragments;
  while (needed == 0 || payload < needed) {
    if (bytes.size() - pos < kRecordHeader) {
      if (pos == 0 && !bytes.empty() && static_cast<uint8_t>(bytes[0]) != kHandshake) {
        return result(ClientHello::Status::not_tls,
                      "the tunnel did not start with a TLS handshake");
      }
      return result(ClientHello::Status::incomplete);
    }
    const auto* h = reinterpret_cast<const uint8_t*>(bytes.data() + pos);
    if (h[0] != kHandshake || h[1] != 3) {
      return result(pos == 0 ? ClientHello::Status::not_tls : ClientHello::Status::invalid,
                    "the tunnel did not start with a TLS handshake");
    }
    const size_t len = (size_t{h[3]} << 8) | h[4];
    if (len == 0 || len > kMaxRecord) {
      return result(ClientHello::Status::invalid, "bad TLS record length");
    }
    const std::string_view fragment = bytes.substr(pos + kRecordHeader, len);  // may be partial
    if (head.size() < 4) head.append(fragment.substr(0, 4 - head.size()));
    if (needed == 0 && head.size() == 4) {
      if (static_cast<uint8_t>(head[0]) != kClientHelloType) {
        return result(ClientHello::Status::invalid, "the first TLS handshake is not a ClientHello");
      }
      const size_t body_len = (size_t{static_cast<uint8_t>(head[1])} << 16) |
                              (size_t{static_cast<uint8_t>(head[2])} << 8) |
                              static_cast<uint8_t>(head[3]);
      if (body_len > max_bytes) {
        return result(ClientHello::Status::invalid, "TLS ClientHello is larger than the limit");
      }
      needed = 4 + body_len;
    }
    if (fragment.size() < len) return result(ClientHello::Status::incomplete);
    fragments.push_back(fragment);
    payload += len;
    pos += kRecordHeader + len;
  }
  std::string message;
  message.reserve(payload);
  for (std::string_view f : fragments) message.append(f);
  return parse_body(std::string_view(message).substr(4, needed - 4));
}

}  // namespace para::proxy
