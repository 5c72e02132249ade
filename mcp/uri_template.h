#pragma once

// RFC 6570 level-1 URI templates, as MCP resource templates use them:
// literal text plus {name} variables. A variable matches one or more
// characters other than '/', so "x://s/{name}" and "x://s/{name}/log" never
// match the same URI. Pure.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace para::mcp {

/// Whether a template is well formed: balanced braces, variable names of
/// [A-Za-z0-9_], no two variables side by side.
bool is_valid_uri_template(std::string_view uri_template);

/// The variables when `uri` matches `uri_template`, else nullopt.
std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view uri_template,
                                                                     std::string_view uri);

}  // namespace para::mcp
