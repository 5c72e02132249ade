#pragma once

// A JSON Schema (2020-12) validator for the subset our schemas use: type,
// enum, const, properties, required, additionalProperties, items, prefixItems
// minItems/maxItems, uniqueItems, minLength/maxLength, pattern,
// minimum/maximum, exclusiveMinimum/exclusiveMaximum, oneOf/anyOf/allOf/not,
// and local $ref ("#/$defs/name"). Unknown keywords are ignored, as the spec
// says for annotations. Pure; thread-safe.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace para {

/// Validates `value` against `schema`. Returns one message per problem, each
/// naming the field: "<root>.sandbox.allowed_domains[2]: expected string, got
/// number". An empty vector means valid. `root` names the top of the path
/// ("arguments", "config").
std::vector<std::string> validate_json(const nlohmann::json& schema, const nlohmann::json& value,
                                       const std::string& root = "value");

/// The JSON type name of a value as JSON Schema spells it ("integer" for
/// whole numbers).
std::string json_type_name(const nlohmann::json& value);

}  // namespace para
