#include "core/json_schema.h"

#include <doctest/doctest.h>

#include "schemas/schemas.h"

namespace para {

using nlohmann::json;

TEST_SUITE("core/json_schema") {
  const json kSchema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["name"],
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
      "count": {"type": "integer", "minimum": 0, "maximum": 10},
      "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
      "mode": {"enum": ["a", "b"]},
      "value": {"oneOf": [{"type": "string"}, {"type": "boolean"}, {"type": "number"}]},
      "ref": {"$ref": "#/$defs/port"}
    },
    "$defs": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}
  })");

  TEST_CASE("a valid value has no errors") {
    CHECK(validate_json(kSchema, json{{"name", "abc"},
                                      {"count", 3},
                                      {"tags", {"x", "y"}},
                                      {"mode", "a"},
                                      {"value", true},
                                      {"ref", 443}})
              .empty());
  }

  TEST_CASE("each error names the field that is wrong") {
    struct Row {
      json value;
      std::string expected;
    };
    const Row rows[] = {
        {json{{"count", 1}}, "arguments.name: is required"},
        {json{{"name", 5}}, "arguments.name: expected string, got integer"},
        {json{{"name", ""}}, "arguments.name: must be at least 1 characters long"},
        {json{{"name", "ABC"}}, "arguments.name: does not match the pattern ^[a-z]+$"},
        {json{{"name", "a"}, {"count", 11}}, "arguments.count: must be at most 10"},
        {json{{"name", "a"}, {"count", 1.5}}, "arguments.count: expected integer, got number"},
        {json{{"name", "a"}, {"tags", {"x", 1}}},
         "arguments.tags[1]: expected string, got integer"},
        {json{{"name", "a"}, {"mode", "c"}}, "arguments.mode: must be one of [\"a\",\"b\"]"},
        {json{{"name", "a"}, {"value", nullptr}},
         "arguments.value: does not match any of the allowed forms"},
        {json{{"name", "a"}, {"ref", 0}}, "arguments.ref: must be at least 1"},
        {json{{"name", "a"}, {"extra", 1}},
         "arguments.extra: is not a known field (known: count, mode, name, ref, tags, value)"},
        {json::array(), "arguments: expected object, got array"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.value.dump());
      const auto errors = validate_json(kSchema, row.value, "arguments");
      REQUIRE(errors.size() >= 1);
      CHECK(errors[0] == row.expected);
    }
  }

  TEST_CASE("a huge value is refused, not run through the pattern") {
    // std::regex recursed once per character: 100,000 of them overflowed
    // the stack (a crash of `para config set`, or of the MCP server).
    const json schema = json::parse(R"({"type": "string", "pattern": "^[A-Z_]*$"})");
    const auto errors = validate_json(schema, std::string(100000, 'A'), "v");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "v: is 100000 bytes long; at most 1024 are allowed here");
    CHECK(validate_json(schema, std::string(1024, 'A'), "v").empty());
  }

  TEST_CASE("a whole number written as a float is an integer") {
    CHECK(validate_json(kSchema, json{{"name", "a"}, {"count", 2.0}}).empty());
  }

  TEST_CASE("every embedded schema parses and the config schema accepts an empty config") {
    for (std::string_view name : schemas::names()) {
      CAPTURE(std::string(name));
      CHECK(schemas::get(name).is_object());
    }
    CHECK(validate_json(schemas::get("config.schema"), json::object()).empty());
    CHECK_FALSE(
        validate_json(schemas::get("config.schema"), json{{"sandbox", {{"enabled", "yes"}}}})
            .empty());
  }
}

}  // namespace para
