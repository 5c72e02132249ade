#include <doctest/doctest.h>

#include <string>

#include "core/json_input.h"

namespace para {
namespace {

TEST_CASE("json_depth_within counts arrays and objects, not brackets in strings") {
  CHECK(json_depth_within("1"));
  CHECK(json_depth_within("[[1]]", 2));
  CHECK_FALSE(json_depth_within("[[1]]", 1));
  CHECK(json_depth_within(R"({"a":{"b":[1]}})", 3));
  CHECK_FALSE(json_depth_within(R"({"a":{"b":[1]}})", 2));
  CHECK(json_depth_within(R"(["[[[[", "{{{{"])", 1));
  CHECK(json_depth_within(R"(["\"[[[[", "\\", "{{"])", 1));  // escaped quotes and backslashes
  CHECK(json_depth_within("[]" + std::string(1000, ' ') + "[][][]", 1));  // siblings do not add up
}

TEST_CASE("parse_untrusted_json refuses deep nesting and parses everything else") {
  CHECK(parse_untrusted_json(R"({"a":[1,2,{"b":null}]})")["a"][2].contains("b"));
  CHECK(parse_untrusted_json("{nope").is_discarded());
  const size_t at_limit = kMaxJsonDepth, over = kMaxJsonDepth + 1;
  CHECK_FALSE(
      parse_untrusted_json(std::string(at_limit, '[') + std::string(at_limit, ']')).is_discarded());
  CHECK(parse_untrusted_json(std::string(over, '[') + std::string(over, ']')).is_discarded());
  const size_t huge = 1000000;  // would overflow the stack when copied
  CHECK(parse_untrusted_json(std::string(huge, '[') + std::string(huge, ']')).is_discarded());
}

}  // namespace
}  // namespace para
