#include "mcp/http_policy.h"

#include <algorithm>
#include <cctype>

namespace para::mcp::http_policy {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string host_of(std::string_view authority) {
  authority = trim(authority);
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
    return lower(authority.substr(0, close + 1));
  }
  const size_t colon = authority.find(':');
  return lower(authority.substr(0, colon));
}

const std::vector<std::string>& loopback_hosts() {
  static const std::vector<std::string> hosts = {"localhost", "127.0.0.1", "[::1]"};
  return hosts;
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed) {
  const std::string host = host_of(host_header);
  return !host.empty() && contains(allowed, host);
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed_hosts,
                    const std::vector<std::string>& allowed_origins) {
  origin = trim(origin);
  if (origin.empty()) return true;
  std::string normalized = lower(origin);
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  for (const std::string& o : allowed_origins) {
    std::string candidate = lower(o);
    while (!candidate.empty() && candidate.back() == '/') candidate.pop_back();
    if (!candidate.empty() && candidate == normalized) return true;
  }
  std::string_view rest = normalized;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else {
    return false;  // "null", file://, chrome-extension://, garbage
  }
  if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) return false;
  const std::string host = host_of(rest);
  return !host.empty() && contains(allowed_hosts, host);
}

bool accepts(std::string_view accept_header, std::string_view media_type) {
  const size_t slash = media_type.find('/');
  const std::string type(media_type.substr(0, slash));
  const std::string wanted = lower(media_type);
  std::string_view rest = accept_header;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::string_view range = item;
    bool refused = false;  // "q=0" means "not acceptable"
    if (const size_t semi = item.find(';'); semi != std::string_view::npos) {
      range = trim(item.substr(0, semi));
      std::string_view params = item.substr(semi + 1);
      while (!params.empty()) {
        const size_t next = params.find(';');
        const std::string p = lower(trim(params.substr(0, next)));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
        if (p.rfind("q=", 0) == 0) {
          const std::string q = p.substr(2);
          refused = !q.empty() && q.find_first_not_of("0.") == std::string::npos;
        }
      }
    }
    if (refused) continue;
    const std::string r = lower(range);
    if (r == wanted || r == "*/*" || r == lower(type) + "/*") return true;
  }
  return false;
}

bool is_json_content_type(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  return lower(trim(content_type.substr(0, semi))) == "application/json";
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  authorization = trim(authorization);
  if (authorization.size() < 7 || lower(authorization.substr(0, 7)) != "bearer ") return false;
  const std::string_view given = trim(authorization.substr(7));
  if (given.size() != token.size() || token.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  }
  return diff == 0;
}

}  // namespace para::mcp::http_policy
