#pragma once

// JSON from outside para's control: MCP messages, and the state, status
// and log files an agent can write. nlohmann parses any depth without
// recursion, but copying, comparing and serialising a value recurse once per
// level: a 200 KB line of '[' is enough to overflow the stack. Every such
// input goes through parse_untrusted_json, which refuses deep nesting
// before parsing.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace para {

/// Far deeper than any message or file para reads legitimately needs.
inline constexpr size_t kMaxJsonDepth = 128;

/// Whether no array or object in `text` is nested deeper than `max_depth`
/// (brackets inside strings do not count). Linear, without allocation.
bool json_depth_within(std::string_view text, size_t max_depth = kMaxJsonDepth);

/// json::parse without exceptions: a discarded value for text that is not
/// JSON or is nested deeper than kMaxJsonDepth.
nlohmann::json parse_untrusted_json(std::string_view text);

}  // namespace para
