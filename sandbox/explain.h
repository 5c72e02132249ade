#pragma once

// `para sandbox explain`: the effective policy and the exact launcher argv,
// as JSON (and a text rendering of it). Never shows the agent's inherited
// environment (it may hold API keys): only the variables the policy sets
// or removes.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/result.h"
#include "sandbox/policy.h"

namespace para::sandbox {

enum class Platform { linux_bwrap, macos_sbpl };

/// "linux" or "macos". Errors: invalid_argument.
Result<Platform> parse_platform(const std::string& name);

/// The policy and the argv for `command` on a platform. `launcher` is argv[0]
/// on Linux (the bwrap path, or "bwrap"). Errors: invalid_argument (the
/// macOS profile cannot be rendered for this policy).
Result<nlohmann::json> explain(const Policy& policy, Platform platform,
                               const std::vector<std::string>& command,
                               const std::string& launcher = "bwrap");

/// A readable rendering of explain()'s JSON.
std::string explain_text(const nlohmann::json& explained);

/// ${TMPDIR:-/tmp}/para-<uid>/<12 hex of FNV-1a(R)>-<N>: the session
/// runtime directory T of the layout (the lead's supervisor uses the same).
std::string default_runtime_dir(const std::string& tmp_root, unsigned uid,
                                const std::string& repo_root, const std::string& session);

}  // namespace para::sandbox
