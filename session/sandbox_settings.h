#pragma once

// Which sandbox a session gets: para's precedence (flags, then what the
// session stored, then config), plus sandbox.enforce.

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "session/config.h"
#include "session/ops.h"

namespace para::session {

struct SandboxSettings {
  bool enabled = false;
  std::string profile = "standard";          // standard | standard-proxied (legacy names mapped)
  std::string network_mode = "open";         // open | proxied
  std::vector<std::string> allowed_domains;  // the session's own, beyond config
};

/// Maps para's profile names: standard-proxied stays, every legacy name
/// (permissive, restrictive, permissive-open, ...) is standard, as in para.
/// Errors: invalid_argument for an unknown name, listing the valid ones.
Result<std::string> canonical_profile(const std::string& name);

/// Resolves the flags against the stored settings (resume) and the config.
/// Errors: invalid_argument (contradictory flags), denied (sandbox.enforce
/// forbids the weakening, naming the flag).
Result<SandboxSettings> resolve_sandbox(const Config& config, const SandboxFlags& flags,
                                        const std::optional<SandboxSettings>& stored);

}  // namespace para::session
