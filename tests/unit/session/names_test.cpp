#include "session/names.h"

#include <doctest/doctest.h>

#include <set>
#include <vector>

namespace para::session {

TEST_SUITE("session/names") {
  TEST_CASE("valid session names pass and each kind of bad name says what is wrong") {
    for (const std::string& ok :
         std::vector<std::string>{"a", "fix-login", "quiet_phoenix", "A1", std::string(50, 'x')}) {
      CAPTURE(ok);
      CHECK(validate_session_name(ok).has_value());
    }
    struct Row {
      std::string name, fragment;
    };
    const Row rows[] = {{"", "empty"},
                        {std::string(51, 'x'), "51 characters"},
                        {"../x", "'.'"},
                        {"a b", "' '"},
                        {"-rf", "start with a letter or digit"},
                        {"_x", "start with a letter or digit"},
                        {"x/y", "'/'"},
                        {"caf\xc3\xa9", "contains '\xc3\xa9'"},  // the character, readable
                        {"a\nb", "\\x0a"}};
    for (const Row& r : rows) {
      CAPTURE(r.name);
      Result<void> v = validate_session_name(r.name);
      REQUIRE_FALSE(v);
      CHECK(v.error().code == Errc::invalid_argument);
      CHECK(v.error().message.find(r.fragment) != std::string::npos);
      CHECK(v.error().message.find("Use 1-50 letters") != std::string::npos);
    }
  }

  TEST_CASE("'archived' is reserved in any case: it would collide with the archive namespace") {
    for (const char* name : {"archived", "Archived", "ARCHIVED"}) {
      CAPTURE(name);
      Result<void> v = validate_session_name(name);
      REQUIRE_FALSE(v);
      CHECK(v.error().code == Errc::invalid_argument);
      CHECK(v.error().message.find("reserved") != std::string::npos);
    }
    CHECK(validate_session_name("archived-notes").has_value());
    CHECK(validate_session_name("archive").has_value());
  }

  TEST_CASE("generated names are adjective_noun, valid, and avoid taken ones") {
    std::set<std::string> taken;
    for (int i = 0; i < 200; ++i) {
      const std::string n =
          generate_session_name([&](const std::string& c) { return taken.count(c) > 0; });
      CHECK(validate_session_name(n).has_value());
      CHECK(n.find('_') != std::string::npos);
      CHECK(taken.insert(n).second);
    }
  }

  TEST_CASE("when every random name is taken a numbered or timestamped one is used") {
    int calls = 0;
    const std::string n = generate_session_name([&](const std::string& c) {
      ++calls;
      return c.find('_') == c.rfind('_');  // only plain adjective_noun names are taken
    });
    CHECK(validate_session_name(n).has_value());
    CHECK(n.substr(n.rfind('_') + 1) == "1");
    CHECK(calls == 51);
  }

  TEST_CASE("branch names follow git's rules") {
    for (const char* ok : {"feature/login", "fix-1", "a.b", "release/v1.2"}) {
      CAPTURE(ok);
      CHECK(validate_branch_name(ok).has_value());
    }
    for (const char* bad : {"",   "-x",   "a..b",   "a b",  "a~1",          "a^", "a:b",
                            "a?", "a*",   "a[",     "a\\b", "a@{1}",        "@",  "a/",
                            "/a", "a//b", "a.lock", "a/.b", "refs/heads/x", "a.", "x\x01"}) {
      CAPTURE(bad);
      Result<void> v = validate_branch_name(bad);
      CHECK_FALSE(v);
    }
  }
}

}  // namespace para::session
