#pragma once

// UTC timestamps in the two spellings para uses.

#include <chrono>
#include <optional>
#include <string>

namespace para {

using SystemTime = std::chrono::system_clock::time_point;

/// RFC 3339 with microseconds and Z: "2026-11-27T20:43:06.123456Z".
std::string rfc3339(SystemTime t);
/// Archive spelling: "20261127-204306".
std::string compact_utc(SystemTime t);
/// Parses RFC 3339 ("...Z" or "+00:00" offsets, optional fraction).
std::optional<SystemTime> parse_rfc3339(const std::string& text);
/// Parses the compact spelling.
std::optional<SystemTime> parse_compact_utc(const std::string& text);

}  // namespace para
