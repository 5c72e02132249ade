#include "mcp/uri_template.h"

#include <doctest/doctest.h>

namespace para::mcp {

TEST_SUITE("mcp/uri_template") {
  TEST_CASE("variables match one path segment and never span a slash") {
    using Vars = std::map<std::string, std::string>;
    CHECK(match_uri_template("para://sessions/{name}", "para://sessions/abc") ==
          Vars{{"name", "abc"}});
    CHECK_FALSE(match_uri_template("para://sessions/{name}", "para://sessions/abc/log"));
    CHECK(match_uri_template("para://sessions/{name}/log", "para://sessions/abc/log") ==
          Vars{{"name", "abc"}});
    CHECK_FALSE(match_uri_template("para://sessions/{name}/log", "para://sessions//log"));
    CHECK(match_uri_template("test://template/{id}/data", "test://template/123/data") ==
          Vars{{"id", "123"}});
    CHECK(match_uri_template("x://{a}-{b}", "x://1-2") == Vars{{"a", "1"}, {"b", "2"}});
    CHECK_FALSE(match_uri_template("x://fixed", "x://fixed2"));
    CHECK(match_uri_template("x://fixed", "x://fixed") == Vars{});
  }

  TEST_CASE("malformed templates are refused") {
    for (const char* t : {"x://{", "x://}", "x://{}", "x://{a b}", "x://{a}{b}"}) {
      CAPTURE(t);
      CHECK_FALSE(is_valid_uri_template(t));
      CHECK_FALSE(match_uri_template(t, "x://a"));
    }
    CHECK(is_valid_uri_template("para://sessions/{name}/log"));
  }
}

}  // namespace para::mcp
