#pragma once

// The proxy request head: "CONNECT host:port HTTP/1.1" or an absolute-form
// request ("GET http://host[:port]/path HTTP/1.1"), parsed strictly. Pure.
//
// Refused with 400 (reason given): bare CR or LF, NUL/control bytes, obs-fold,
// a malformed request line, userinfo ("user@host") or a fragment in the
// target, https:// targets (use CONNECT), origin-form targets, bad ports,
// IPv6 without brackets, hosts that do not canonicalise, a Host header that
// disagrees with the target or appears twice, Content-Length together with
// Transfer-Encoding, conflicting Content-Lengths, heads over the size limit,
// HTTP versions other than 1.0 and 1.1. Methods outside GET HEAD POST PUT
// DELETE OPTIONS PATCH CONNECT are refused with 405.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/host.h"

namespace para::proxy {

struct RequestHead {
  std::string method;
  bool connect = false;
  Host host;            // canonical
  uint16_t port = 0;    // 80 when an http:// target has none
  std::string path;     // origin-form path and query ("/" at least); empty for CONNECT
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, values trimmed
  std::optional<std::string> proxy_authorization;            // its value, if sent
  uint64_t body_length = 0;                                  // Content-Length (0 without one)
  bool chunked = false;                                      // a Transfer-Encoding header was sent
  size_t size = 0;  // bytes of the head, final CRLFCRLF included
};

struct ParsedHead {
  enum class Status { incomplete, complete, invalid };
  Status status = Status::incomplete;
  RequestHead head;      // when complete
  int error_status = 0;  // 400 or 405, when invalid
  std::string error;     // one line, safe to send and log
};

/// Parses the start of a client stream. `incomplete` means: read more (the
/// buffer holds less than `max_head` bytes and no end of head yet).
ParsedHead parse_head(std::string_view buffer, size_t max_head);

/// The request to send upstream for an absolute-form head: origin-form
/// target, Host from the target, hop-by-hop headers (Connection and the
/// headers it names, Keep-Alive, Proxy-*, TE, Upgrade) removed, and
/// "Connection: close" (one request per connection).
std::string origin_request(const RequestHead& head);

/// The client's side of the same rule, for the origin's responses. Reads
/// `pending` (what the origin sent so far): while it holds complete heads,
/// each is moved to the result, a final one (status 200 and up) with its
/// Connection and Keep-Alive fields replaced by "Connection: close", so the
/// client never sends a second request on a connection the proxy ends
/// (interim 1xx heads pass as they are). Sets `done` after the final head;
/// then, or when `pending` grows past `max_head` without one, the rest is
/// relayed unread.
std::string take_response_heads(std::string& pending, size_t max_head, bool& done);

}  // namespace para::proxy
