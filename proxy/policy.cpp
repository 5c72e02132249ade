#include "proxy/policy.h"

#include <algorithm>
#include <set>

#include "proxy/public_suffix.h"

namespace para::proxy {
namespace {

using Entry = Policy::Entry;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ends_with_label(const std::string& host, const std::string& suffix) {
  return host.size() > suffix.size() && host.ends_with(suffix) &&
         host[host.size() - suffix.size() - 1] == '.';
}

bool host_matches(const Entry& e, const Host& h) {
  switch (e.kind) {
    case Entry::Kind::any:
      return true;
    case Entry::Kind::ip:
      return h.is_ip() && h.text == e.host;
    case Entry::Kind::apex_and_subdomains:
      return !h.is_ip() && (h.text == e.host || ends_with_label(h.text, e.host));
    case Entry::Kind::subdomains_only:
      return !h.is_ip() && ends_with_label(h.text, e.host);
  }
  return false;
}

Result<Entry> parse_entry(std::string_view written, bool deny) {
  const std::string list = deny ? "denied domain" : "allowed domain";
  std::string_view text = trim(written);
  Entry e;
  e.text = std::string(text);
  const std::string quoted = list + " '" + printable(text) + "'";
  auto refuse = [&](const std::string& why) {
    return fail(Errc::invalid_argument, quoted + ": " + why);
  };

  if (text.find("://") != std::string_view::npos) {
    return refuse("is a URL; write the host only (example.com or example.com:8443)");
  }
  if (text.ends_with("/plain")) {
    e.plain = true;
    text.remove_suffix(6);
  }
  if (text.find('/') != std::string_view::npos) {
    return refuse("contains '/'; write the host only (example.com or example.com:8443)");
  }
  bool subdomains = false;
  if (text.starts_with("*.")) {
    subdomains = true;
    text.remove_prefix(2);
  }
  Result<Authority> authority = split_authority(text);
  if (!authority) return refuse(authority.error().message);
  if (authority->port) e.port = *authority->port;
  if (e.plain && e.port == 0) return refuse("'/plain' needs a port, as in example.com:22/plain");

  if (authority->host == "*" && !subdomains) {
    if (!deny) {
      return refuse("'*' would allow every host; list the domains the agent needs (example.com)");
    }
    e.kind = Entry::Kind::any;
    return e;
  }
  if (authority->host.find('*') != std::string_view::npos) {
    return refuse("a wildcard is only allowed as a whole leading label, as in *.example.com");
  }
  Result<Host> host = canonical_host(authority->host);
  if (!host) return refuse(host.error().message);
  e.host = host->text;
  if (host->is_ip()) {
    if (subdomains) return refuse("wildcards apply to names, not to IP addresses");
    e.kind = Entry::Kind::ip;
    return e;
  }
  e.kind = subdomains ? Entry::Kind::subdomains_only : Entry::Kind::apex_and_subdomains;
  if (!deny && (is_public_suffix(e.host) || has_public_suffixes_below(e.host))) {
    return refuse(e.host + " is a public suffix: names under it belong to unrelated owners, so " +
                  (subdomains ? "*." + e.host : e.host) +
                  " would allow all of them; list the exact domains you need (for example "
                  "www." +
                  e.host + ")");
  }
  return e;
}

Result<std::pair<std::string, IpAddress>> parse_pin(std::string_view written) {
  const std::string_view text = trim(written);
  const size_t colon = text.find(':');
  const std::string quoted = "pin '" + printable(text) + "'";
  if (colon == std::string_view::npos) {
    return fail(Errc::invalid_argument,
                quoted + ": write HOST:ADDRESS, as in test.example:127.0.0.1");
  }
  Result<Host> host = canonical_host(text.substr(0, colon));
  if (!host) return fail(Errc::invalid_argument, quoted + ": " + host.error().message);
  if (host->is_ip()) return fail(Errc::invalid_argument, quoted + ": only names can be pinned");
  const std::optional<IpAddress> ip = parse_ip(text.substr(colon + 1));
  if (!ip) {
    return fail(Errc::invalid_argument,
                quoted + ": '" + printable(text.substr(colon + 1)) + "' is not an IP address");
  }
  return std::make_pair(host->text, *ip);
}

}  // namespace

const std::vector<std::string>& essential_domains() {
  static const std::vector<std::string> domains = {
      "api.anthropic.com",    "statsig.anthropic.com",         "sentry.io",
      "github.com",           "objects.githubusercontent.com", "claude.ai",
      "console.anthropic.com"};
  return domains;
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      const std::string_view item = trim(std::string_view(value).substr(start, comma - start));
      if (!item.empty()) out.emplace_back(item);
      start = comma + 1;
    }
  }
  return out;
}

Result<std::shared_ptr<const Policy>> build_policy(const PolicyConfig& config) {
  auto policy = std::make_shared<Policy>();
  policy->allow_local_ = config.allow_local_destinations;
  std::vector<std::string> allowed;
  if (config.include_essential) allowed = essential_domains();
  for (const std::string& s : split_list(config.allowed)) allowed.push_back(s);
  for (const std::string& text : allowed) {
    Result<Entry> e = parse_entry(text, false);
    if (!e) return fail(e.error());
    policy->allowed_.push_back(std::move(*e));
  }
  for (const std::string& text : split_list(config.denied)) {
    Result<Entry> e = parse_entry(text, true);
    if (!e) return fail(e.error());
    policy->denied_.push_back(std::move(*e));
  }
  for (const std::string& text : config.pins) {
    Result<std::pair<std::string, IpAddress>> pin = parse_pin(text);
    if (!pin) return fail(pin.error());
    auto it = std::find_if(policy->pins_.begin(), policy->pins_.end(),
                           [&](const auto& p) { return p.first == pin->first; });
    if (it == policy->pins_.end()) {
      policy->pins_.push_back({pin->first, {pin->second}});
    } else {
      it->second.push_back(pin->second);
    }
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

Decision Policy::match(const Host& host, uint16_t port, Scheme scheme) const {
  const std::string target = authority_text(host, port);
  for (const Entry& e : denied_) {
    if (host_matches(e, host) && (e.port == 0 || e.port == port)) {
      return {.allowed = false,
              .rule = e.text,
              .reason = target + " is denied by the deny-list entry '" + e.text + "'"};
    }
  }
  const int default_port = scheme == Scheme::connect ? 443 : 80;
  bool host_listed = false;
  std::set<int> listed_ports;
  const Entry* winner = nullptr;
  bool plain = false;
  for (const Entry& e : allowed_) {
    if (!host_matches(e, host)) continue;
    host_listed = true;
    const int entry_port = e.port != 0 ? e.port : default_port;
    if (entry_port == port) {
      if (winner == nullptr) winner = &e;
      plain = plain || e.plain;
    } else {
      listed_ports.insert(entry_port);
    }
  }
  std::string ports;
  for (const int p : listed_ports) ports += (ports.empty() ? "" : ", ") + std::to_string(p);
  if (winner != nullptr) {
    return {.allowed = true,
            .tls = scheme == Scheme::connect && !plain,
            .rule = winner->text,
            .reason = target + " is allowed by '" + winner->text + "'"};
  }
  if (host_listed) {
    return {.allowed = false,
            .reason =
                "port " + std::to_string(port) + " is not allowed for " + host.text +
                (scheme == Scheme::http ? " over plain HTTP" : "") + " (allowed: " + ports + ")" +
                // Clients that tunnel http:// URLs (undici's ProxyAgent, curl -p).
                (scheme == Scheme::connect && port == 80
                     ? "; to tunnel plain http:// through CONNECT, allow " + host.text + ":80/plain"
                     : "")};
  }
  return {.allowed = false, .reason = host_for_url(host) + " is not on the allow list"};
}

const std::vector<IpAddress>* Policy::pinned(const std::string& host) const {
  for (const auto& [name, addresses] : pins_) {
    if (name == host) return &addresses;
  }
  return nullptr;
}

std::optional<std::string> Policy::ip_denied(const IpAddress& ip, uint16_t port) const {
  const std::string text = to_string(ip);
  for (const Entry& e : denied_) {
    if (e.kind == Entry::Kind::ip && e.host == text && (e.port == 0 || e.port == port)) {
      return e.text;
    }
  }
  return std::nullopt;
}

bool Policy::ip_listed(const IpAddress& ip) const {
  const std::string text = to_string(ip);
  return std::any_of(allowed_.begin(), allowed_.end(),
                     [&](const Entry& e) { return e.kind == Entry::Kind::ip && e.host == text; });
}

}  // namespace para::proxy
