#pragma once

// Reads the server name (SNI) from the first TLS ClientHello of a tunnel,
// without decrypting anything (Squid's "peek"). Pure; handles a ClientHello
// split across TLS records and TCP segments, GREASE values, absent SNI and
// refuses more than one host_name.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace para::proxy {

struct ClientHello {
  enum class Status {
    incomplete,  // read more bytes
    complete,    // a whole ClientHello was read
    not_tls,     // the stream does not start with a TLS handshake record
    invalid,     // malformed, or larger than the limit
  };
  Status status = Status::incomplete;
  std::optional<std::string> server_name;  // raw host_name bytes, when present
  std::string error;                       // one line, for invalid and not_tls
};

/// Parses the start of a client stream. `max_bytes` bounds the ClientHello
/// handshake message (not counting record headers).
ClientHello parse_client_hello(std::string_view bytes, size_t max_bytes = 64 * 1024);

}  // namespace para::proxy
