#pragma once

// The macOS renderer: the same Policy as an SBPL profile for sandbox-exec.
// Every path reaches sandbox-exec as a -D NAME=value parameter and appears
// in the profile only as (param "NAME"), so no path text is ever parsed as
// SBPL. The profile's own literals (system paths, regexes, service names)
// go through sbpl_quote, which rejects what it cannot escape.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sandbox/policy.h"

namespace para::sandbox {

/// The one escaping function: text as an SBPL string literal, "..." with
/// '\' and '"' escaped. Rejects NUL, control characters (CR and LF
/// included), non-ASCII bytes and more than 1024 bytes (SBPL's literal
/// limit). Errors: invalid_argument.
Result<std::string> sbpl_quote(std::string_view text);

struct SbplParam {
  std::string name;   // [A-Z0-9_]+
  std::string value;  // a path or a port
};

struct SbplProfile {
  std::string text;               // depends only on the policy's shape, never its paths
  std::vector<SbplParam> params;  // the values, in the order the text names them
};

/// Renders the profile and its parameters. Errors: invalid_argument.
Result<SbplProfile> render_sbpl_profile(const Policy& policy);

/// The profile text alone.
Result<std::string> render_sbpl(const Policy& policy);

inline constexpr const char* kSandboxExec = "/usr/bin/sandbox-exec";

enum class ProfileSource { inline_text, file };

/// /usr/bin/sandbox-exec (never from PATH), -D NAME=value for each
/// parameter, then -p TEXT (or -f FILE), "--", and the command untouched.
/// Errors: invalid_argument (a value with a NUL byte or longer than 1024
/// bytes, macOS's MAXPATHLEN; an empty command).
Result<std::vector<std::string>> sandbox_exec_argv(
    const SbplProfile& profile, const std::vector<std::string>& command,
    ProfileSource source = ProfileSource::inline_text, const std::string& profile_file = "");

/// Fails closed when sandbox-exec is missing. Errors: unavailable.
Result<void> check_sandbox_exec(const std::string& path = kSandboxExec);

}  // namespace para::sandbox
