#include "proxy/head.h"

#include <algorithm>

namespace para::proxy {
namespace {

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return lower(a) == lower(b);
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ParsedHead invalid(int status, std::string why) {
  ParsedHead p;
  p.status = ParsedHead::Status::invalid;
  p.error_status = status;
  p.error = std::move(why);
  return p;
}

bool known_method(std::string_view m) {
  for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (m == k) return true;
  }
  return false;
}

// Fills host/port from an authority (CONNECT target, URL authority or Host value).
std::optional<std::string> read_authority(std::string_view text, bool port_required, Host* host,
                                          std::optional<uint16_t>* port) {
  if (text.find('@') != std::string_view::npos) {
    return "userinfo (user@host) in the request target is refused";
  }
  Result<Authority> a = split_authority(text);
  if (!a) return a.error().message;
  if (port_required && !a->port) return "CONNECT needs host:port";
  Result<Host> h = canonical_host(a->host);
  if (!h) return h.error().message;
  *host = std::move(*h);
  *port = a->port;
  return std::nullopt;
}

}  // namespace

ParsedHead parse_head(std::string_view buffer, size_t max_head) {
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buffer.size() >= max_head) {
      return invalid(400, "request head is larger than " + std::to_string(max_head) + " bytes");
    }
    // Refuse early what can never become valid, rather than wait for more.
    if (buffer.find('\0') != std::string_view::npos) {
      return invalid(400, "NUL byte in request head");
    }
    for (size_t lf = buffer.find('\n'); lf != std::string_view::npos;
         lf = buffer.find('\n', lf + 1)) {
      if (lf == 0 || buffer[lf - 1] != '\r') return invalid(400, "bare LF in request head");
    }
    return {};
  }
  const size_t size = end + 4;
  if (size > max_head) {
    return invalid(400, "request head is larger than " + std::to_string(max_head) + " bytes");
  }
  const std::string_view text = buffer.substr(0, end);
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) {
      return invalid(400, "bare CR in request head");
    }
    if (c == '\n' && (i == 0 || text[i - 1] != '\r')) {
      return invalid(400, "bare LF in request head");
    }
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f) {
      return invalid(400, "NUL or control byte in request head");
    }
  }

  ParsedHead out;
  RequestHead& h = out.head;
  h.size = size;

  // Request line: METHOD SP TARGET SP VERSION, single spaces.
  const size_t line_end = std::min(text.find("\r\n"), text.size());
  const std::string_view line = text.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1) {
    return invalid(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_tchar)) {
    return invalid(400, "malformed method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return invalid(400, "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 only)");
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\t') {
      return invalid(400, "non-ASCII or tab byte in the request target");
    }
  }
  h.method = std::string(method);
  h.version = std::string(version);

  std::optional<uint16_t> port;
  if (method == "CONNECT") {
    h.connect = true;
    if (target.find('/') != std::string_view::npos) {
      return invalid(400, "CONNECT target must be host:port");
    }
    if (auto why = read_authority(target, true, &h.host, &port)) return invalid(400, *why);
    h.port = *port;
  } else {
    if (!known_method(method)) {
      return invalid(405, "method " + printable(method, 20) + " is not supported by this proxy");
    }
    if (target.find('#') != std::string_view::npos) {
      return invalid(400, "fragment (#) in the request target is refused");
    }
    constexpr std::string_view kHttp = "http://";
    if (target.size() >= 8 && iequals(target.substr(0, 8), "https://")) {
      return invalid(400, "https:// URLs go through CONNECT (use the proxy as an HTTPS proxy)");
    }
    if (target.size() < kHttp.size() || !iequals(target.substr(0, kHttp.size()), kHttp)) {
      return invalid(400, target.starts_with("/")
                              ? "origin-form request: a proxy needs an absolute http:// URL"
                              : "request target is not an http:// URL");
    }
    const std::string_view rest = target.substr(kHttp.size());
    const size_t path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (auto why = read_authority(authority, false, &h.host, &port)) return invalid(400, *why);
    h.port = port.value_or(80);
    h.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (h.path.front() == '?') h.path.insert(0, "/");
  }

  // Header fields.
  bool seen_host = false, seen_te = false;
  std::optional<std::string> content_length;
  size_t pos = line_end;
  while (pos < text.size()) {
    pos += 2;  // CRLF
    size_t next = text.find("\r\n", pos);
    if (next == std::string_view::npos) next = text.size();
    const std::string_view field = text.substr(pos, next - pos);
    pos = next;
    if (field.empty()) return invalid(400, "empty header line");
    if (field.front() == ' ' || field.front() == '\t') {
      return invalid(400, "obsolete line folding (obs-fold) in headers is refused");
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return invalid(400, "malformed header line");
    const std::string_view name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar)) {
      return invalid(400, "malformed header name");
    }
    const std::string_view value = trim_ows(field.substr(colon + 1));
    const std::string lname = lower(name);
    if (lname == "host") {
      if (seen_host) return invalid(400, "duplicate Host header");
      seen_host = true;
      Host host_header;
      std::optional<uint16_t> host_port;
      if (auto why = read_authority(value, false, &host_header, &host_port)) {
        return invalid(400, "Host header: " + *why);
      }
      if (host_header != h.host || (host_port && *host_port != h.port)) {
        return invalid(400, "Host header does not agree with the request target");
      }
    } else if (lname == "transfer-encoding") {
      seen_te = true;
    } else if (lname == "content-length") {
      if (content_length && *content_length != value) {
        return invalid(400, "conflicting Content-Length headers");
      }
      content_length = std::string(value);
    } else if (lname == "proxy-authorization") {
      if (h.proxy_authorization) return invalid(400, "duplicate Proxy-Authorization header");
      h.proxy_authorization = std::string(value);
    }
    h.headers.emplace_back(std::string(name), std::string(value));
  }
  if (seen_te && content_length) {
    return invalid(400, "Content-Length together with Transfer-Encoding is refused");
  }
  h.chunked = seen_te;
  if (content_length) {
    const std::string& v = *content_length;
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return invalid(400, "invalid Content-Length");
    }
    h.body_length = std::stoull(v);
  }
  out.status = ParsedHead::Status::complete;
  return out;
}

std::string origin_request(const RequestHead& head) {
  // Headers named by Connection are hop-by-hop too.
  std::vector<std::string> drop = {
      "connection",         "keep-alive", "proxy-connection", "proxy-authorization",
      "proxy-authenticate", "te",         "upgrade",          "host"};
  for (const auto& [name, value] : head.headers) {
    if (lower(name) != "connection") continue;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      const std::string token =
          lower(trim_ows(std::string_view(value).substr(start, comma - start)));
      if (!token.empty() && token != "transfer-encoding" && token != "content-length") {
        drop.push_back(token);
      }
      start = comma + 1;
    }
  }
  std::string out = head.method + " " + head.path + " " + head.version + "\r\n";
  out += "Host: " +
         (head.port == 80 ? host_for_url(head.host) : authority_text(head.host, head.port)) +
         "\r\n";
  for (const auto& [name, value] : head.headers) {
    if (std::find(drop.begin(), drop.end(), lower(name)) != drop.end()) continue;
    out += name + ": " + value + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

std::string take_response_heads(std::string& pending, size_t max_head, bool& done) {
  std::string out;
  while (!done) {
    const size_t end = pending.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (pending.size() > max_head) done = true;  // not a head we know: as it is
      break;
    }
    const std::string_view head(pending.data(), end + 2);  // through the last field's CRLF
    // "HTTP/1.1 100 Continue": interim, the final head follows.
    const bool interim = head.size() > 9 && head[9] == '1';
    if (interim) {
      out.append(pending, 0, end + 4);
    } else {
      size_t line = head.find("\r\n") + 2;
      out.append(head.substr(0, line));  // the status line
      while (line < head.size()) {
        const size_t next = head.find("\r\n", line) + 2;
        const std::string_view field = head.substr(line, next - line);
        const std::string name = lower(field.substr(0, field.find(':')));
        if (name != "connection" && name != "keep-alive") out.append(field);
        line = next;
      }
      out.append("Connection: close\r\n\r\n");
      done = true;
    }
    pending.erase(0, end + 4);
  }
  if (done) {
    out += pending;
    pending.clear();
  }
  return out;
}

}  // namespace para::proxy
