#pragma once

// Secret redaction. Forwarded API keys travel to the daemon in a container's
// create body and nowhere else; any text that could echo a request body (a
// daemon error message, a log line) goes through redact() first.

#include <string>
#include <string_view>
#include <vector>

namespace para::docker {

inline constexpr std::string_view kRedacted = "[redacted]";

/// Replaces every occurrence of every non-empty secret value in `text` with
/// "[redacted]". Longer secrets are replaced first, so a secret that contains
/// another is never half-replaced. Pure; thread-safe.
std::string redact(std::string_view text, const std::vector<std::string>& secret_values);

}  // namespace para::docker
