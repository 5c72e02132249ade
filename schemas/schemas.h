#pragma once

// The JSON schemas in schemas/*.json, embedded at build time. They are the
// source of truth for config validation, state files and MCP tool
// input/output schemas.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace para::schemas {

struct Entry {
  const char* name;  // path under schemas/ without ".json": "tools/para_start.input"
  const char* text;  // minified JSON
};

/// The raw text of a schema, or an empty view if there is none by that name.
std::string_view text(std::string_view name);

/// The parsed schema. Asserts that it exists: a missing schema is a bug.
const nlohmann::json& get(std::string_view name);

/// Whether a schema with this name exists.
bool has(std::string_view name);

/// Every schema name, sorted.
std::vector<std::string_view> names();

}  // namespace para::schemas
