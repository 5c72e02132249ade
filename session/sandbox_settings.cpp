#include "session/sandbox_settings.h"

#include <algorithm>

namespace para::session {
namespace {

int strength(const SandboxSettings& s) {
  if (!s.enabled) return 0;
  return s.network_mode == "proxied" ? 2 : 1;
}

}  // namespace

Result<std::string> canonical_profile(const std::string& name) {
  if (name == "standard-proxied") return std::string("standard-proxied");
  for (const char* legacy : {"standard", "permissive", "restrictive", "permissive-open",
                             "restrictive-closed", "development", "isolated"}) {
    if (name == legacy) return std::string("standard");
  }
  return fail(Errc::invalid_argument,
              "unknown sandbox profile '" + name +
                  "'; use standard (host network) or standard-proxied (network only through the "
                  "domain-filtering proxy)");
}

Result<SandboxSettings> resolve_sandbox(const Config& config, const SandboxFlags& flags,
                                        const std::optional<SandboxSettings>& stored) {
  if (flags.sandbox && flags.no_sandbox) {
    return fail(Errc::invalid_argument,
                "--sandbox and --no-sandbox contradict each other; use one");
  }
  if (flags.no_network && flags.no_sandbox) {
    return fail(Errc::invalid_argument,
                "--sandbox-no-network and --no-sandbox contradict each other; use one");
  }
  std::optional<std::string> flag_profile;
  if (flags.profile) {
    Result<std::string> p = canonical_profile(*flags.profile);
    if (!p) return fail(p.error());
    flag_profile = *p;
  }
  Result<std::string> config_profile = canonical_profile(config.sandbox.profile);
  if (!config_profile) return fail(config_profile.error());

  // The baseline: what the session stored (resume), else the config.
  SandboxSettings base;
  if (stored) {
    base = *stored;
  } else {
    base.enabled = config.sandbox.enabled;
    base.profile = *config_profile;
    base.network_mode = base.profile == "standard-proxied" ? "proxied" : "open";
  }

  SandboxSettings out = base;
  if (flags.no_network) {
    out.enabled = true;
    out.profile = "standard-proxied";
  } else if (flags.no_sandbox) {
    out.enabled = false;
  } else if (flags.sandbox) {
    out.enabled = true;
    out.profile = flag_profile.value_or(stored ? base.profile : std::string("standard"));
  } else if (flag_profile) {
    out.profile = *flag_profile;
  }
  out.network_mode = out.enabled && out.profile == "standard-proxied" ? "proxied" : "open";
  for (const std::string& d : flags.allowed_domains) {
    if (std::find(out.allowed_domains.begin(), out.allowed_domains.end(), d) ==
        out.allowed_domains.end()) {
      out.allowed_domains.push_back(d);
    }
  }
  if (!flags.allowed_domains.empty() && out.network_mode != "proxied") {
    return fail(Errc::invalid_argument,
                "--allowed-domains only applies to network-isolated sessions; add "
                "--sandbox-no-network (or --sandbox-profile standard-proxied)");
  }

  if (config.sandbox.enforce) {
    SandboxSettings configured;
    configured.enabled = config.sandbox.enabled;
    configured.profile = *config_profile;
    configured.network_mode =
        configured.enabled && configured.profile == "standard-proxied" ? "proxied" : "open";
    if (strength(out) < strength(configured) || strength(out) < strength(base)) {
      return fail(
          Errc::denied,
          std::string("sandbox.enforce is on in your user config, so the sandbox cannot be "
                      "weakened: ") +
              (flags.no_sandbox ? "--no-sandbox (no_sandbox) is refused"
                                : "the requested profile is weaker than '" +
                                      (strength(base) > strength(configured) ? base.profile
                                                                             : configured.profile) +
                                      "'") +
              ". Remove the flag, or change sandbox.enforce in " + config.user_file);
    }
    if (!flags.allowed_domains.empty()) {
      return fail(Errc::denied,
                  "sandbox.enforce is on in your user config, so a session cannot widen the "
                  "network: --allowed-domains (allowed_domains) is refused. Add the domains to "
                  "sandbox.allowed_domains in " +
                      config.user_file + " instead.");
    }
  }
  return out;
}

}  // namespace para::session
