#include "docker/redact.h"

#include <doctest/doctest.h>

namespace para::docker {

TEST_SUITE("docker/redact") {
  TEST_CASE("every occurrence of a secret is replaced") {
    CHECK(redact("key sk-123 and again sk-123.", {"sk-123"}) ==
          "key [redacted] and again [redacted].");
  }

  TEST_CASE("a secret that contains another is replaced whole") {
    CHECK(redact("token=abcdef", {"abc", "abcdef"}) == "token=[redacted]");
  }

  TEST_CASE("a short secret does not match inside the marker") {
    CHECK(redact("x=secret y=act", {"secret", "act"}) == "x=[redacted] y=[redacted]");
  }

  TEST_CASE("empty secrets and text without secrets are left alone") {
    CHECK(redact("nothing here", {"", "absent"}) == "nothing here");
    CHECK(redact("", {"a"}).empty());
  }
}

}  // namespace para::docker
