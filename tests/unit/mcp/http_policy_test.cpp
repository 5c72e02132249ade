#include "mcp/http_policy.h"

#include <doctest/doctest.h>

namespace para::mcp::http_policy {

TEST_SUITE("mcp/http_policy") {
  const std::vector<std::string> kHosts = loopback_hosts();

  TEST_CASE("the Host header must name the server") {
    struct Row {
      const char* host;
      bool ok;
    };
    for (const Row& r : {Row{"localhost:3000", true}, Row{"127.0.0.1", true}, Row{"[::1]:80", true},
                         Row{"LOCALHOST", true}, Row{"evil.example.com", false},
                         Row{"evil.example.com:3000", false}, Row{"", false},
                         Row{"127.0.0.1.evil.com", false}, Row{"[::1", false}}) {
      CAPTURE(r.host);
      CHECK(host_allowed(r.host, kHosts) == r.ok);
    }
  }

  TEST_CASE("an Origin must be absent, loopback or explicitly allowed") {
    const std::vector<std::string> extra = {"https://app.example.com/"};
    struct Row {
      const char* origin;
      bool ok;
    };
    for (const Row& r :
         {Row{"", true}, Row{"http://localhost:5173", true}, Row{"https://127.0.0.1", true},
          Row{"http://[::1]:8080", true}, Row{"https://app.example.com", true},
          Row{"http://evil.example.com", false}, Row{"null", false}, Row{"file://", false},
          Row{"http://localhost.evil.com", false}, Row{"http://localhost@evil.com", false},
          Row{"http://localhost/path", false}, Row{"https://app.example.com.evil", false}}) {
      CAPTURE(r.origin);
      CHECK(origin_allowed(r.origin, kHosts, extra) == r.ok);
    }
  }

  TEST_CASE("Accept ranges are honoured, including wildcards and q=0") {
    CHECK(accepts("application/json, text/event-stream", "text/event-stream"));
    CHECK(accepts("application/json, text/event-stream", "application/json"));
    CHECK(accepts("*/*", "text/event-stream"));
    CHECK(accepts("text/*;q=0.5", "text/event-stream"));
    CHECK_FALSE(accepts("application/json", "text/event-stream"));
    CHECK_FALSE(accepts("text/event-stream;q=0", "text/event-stream"));
    CHECK_FALSE(accepts("", "application/json"));
  }

  TEST_CASE("Content-Type must be application/json") {
    CHECK(is_json_content_type("application/json"));
    CHECK(is_json_content_type("Application/JSON; charset=utf-8"));
    CHECK_FALSE(is_json_content_type("text/plain"));
    CHECK_FALSE(is_json_content_type("application/jsonx"));
  }

  TEST_CASE("the bearer token must match exactly") {
    CHECK(bearer_matches("Bearer s3cret", "s3cret"));
    CHECK(bearer_matches("bearer  s3cret ", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer s3cre", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer s3cretX", "s3cret"));
    CHECK_FALSE(bearer_matches("Basic s3cret", "s3cret"));
    CHECK_FALSE(bearer_matches("", "s3cret"));
    CHECK_FALSE(bearer_matches("Bearer ", ""));
  }
}

}  // namespace para::mcp::http_policy
