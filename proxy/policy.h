#pragma once

// The domain policy of one listener (one session): which host:port a client
// may reach, decided on canonical hosts (proxy/host.h). Pure and immutable
// once built, so listeners share it across threads through shared_ptr.
//
// Entry grammar (allow and deny lists):
//   example.com          the apex and every subdomain (para's rule)
//   *.example.com        strict subdomains only, never the apex
//   example.com:8443     a port scope; without one an allow entry means 443
//                        for CONNECT and 80 for plain HTTP requests
//   example.com:22/plain the port carries no TLS: CONNECT tunnels to it are
//                        not SNI-checked (a port is required)
//   127.0.0.1:3000, [::1]:8080   IP literals match only that exact address
//                        (never by suffix); they also exempt that address
//                        from the local-destination check
//   *                    (deny list only) every host
// Deny is evaluated first and always wins; a deny entry without a port
// denies every port. Allow entries that would open a registry ("*",
// "*.com", "co.uk", "*.github.io": anything the Public Suffix List names)
// are refused with an error naming the entry.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "proxy/address.h"
#include "proxy/host.h"

namespace para::proxy {

/// para's seven essential domains, always allowed unless include_essential is off.
const std::vector<std::string>& essential_domains();

struct PolicyConfig {
  std::vector<std::string> allowed, denied;
  bool include_essential = true;
  bool allow_local_destinations = false;
  std::vector<std::string> pins;  // "host:addr" (curl --resolve without the port)
};

enum class Scheme { connect, http };

struct Decision {
  bool allowed = false;
  bool tls = false;    // CONNECT only: the tunnel must start with a ClientHello whose SNI matches
  std::string rule;    // the entry that decided, as written ("" when none matched)
  std::string reason;  // one line: why
};

class Policy {
 public:
  struct Entry {
    enum class Kind { apex_and_subdomains, subdomains_only, ip, any };
    Kind kind = Kind::apex_and_subdomains;
    std::string host;  // canonical (Host::text); empty for `any`
    int port = 0;      // 0 = no port written
    bool plain = false;
    std::string text;  // as written, for messages
  };

  /// Decides host:port for a CONNECT (scheme connect) or an absolute-form
  /// request (scheme http). `host` must be canonical.
  Decision match(const Host& host, uint16_t port, Scheme scheme) const;

  /// The pinned address of a canonical name, if any. A pin is trusted: the
  /// operator says where that name lives (used by tests to reach loopback).
  const std::vector<IpAddress>* pinned(const std::string& host) const;
  /// The IP-literal deny entry that names this address (and port), if any:
  /// deny wins also over the address a name resolves to, pinned or not.
  std::optional<std::string> ip_denied(const IpAddress& ip, uint16_t port) const;
  /// Whether an explicit IP-literal allow entry names this address.
  bool ip_listed(const IpAddress& ip) const;
  bool allow_local_destinations() const { return allow_local_; }

  const std::vector<Entry>& allowed() const { return allowed_; }
  const std::vector<Entry>& denied() const { return denied_; }

 private:
  friend Result<std::shared_ptr<const Policy>> build_policy(const PolicyConfig&);
  std::vector<Entry> allowed_, denied_;
  std::vector<std::pair<std::string, std::vector<IpAddress>>> pins_;
  bool allow_local_ = false;
};

/// Validates every entry and builds the policy. Errors: invalid_argument
/// naming the bad entry and saying what to write instead.
Result<std::shared_ptr<const Policy>> build_policy(const PolicyConfig& config);

/// Splits comma-separated lists ("a, b,,c" -> a b c), trimming blanks.
std::vector<std::string> split_list(const std::vector<std::string>& values);

}  // namespace para::proxy
