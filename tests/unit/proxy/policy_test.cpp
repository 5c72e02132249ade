#include "proxy/policy.h"

#include <doctest/doctest.h>

#include "proxy/public_suffix.h"

using namespace para::proxy;

namespace {
std::shared_ptr<const Policy> make(std::vector<std::string> allowed,
                                   std::vector<std::string> denied = {}, bool essential = false) {
  auto p = build_policy(
      {.allowed = std::move(allowed), .denied = std::move(denied), .include_essential = essential});
  REQUIRE(p);
  return *p;
}
Decision decide(const Policy& p, const char* host, uint16_t port, Scheme s = Scheme::connect) {
  const auto h = canonical_host(host);
  REQUIRE(h);
  return p.match(*h, port, s);
}
}  // namespace

TEST_SUITE("proxy/policy") {
  TEST_CASE("an apex entry allows the apex and its subdomains on label boundaries only") {
    const auto p = make({"allowed.com"});
    struct Row {
      const char* host;
      bool allowed;
    };
    for (const Row& r :
         {Row{"allowed.com", true}, Row{"api.allowed.com", true}, Row{"a.b.allowed.com", true},
          Row{"ALLOWED.COM.", true}, Row{"evilallowed.com", false},
          Row{"allowed.com.evil.net", false}, Row{"allowed.co", false}, Row{"com", false}}) {
      CAPTURE(r.host);
      CHECK(decide(*p, r.host, 443).allowed == r.allowed);
    }
  }

  TEST_CASE("a wildcard entry allows strict subdomains, never the apex") {
    const auto p = make({"*.npmjs.org"});
    CHECK(decide(*p, "registry.npmjs.org", 443).allowed);
    CHECK_FALSE(decide(*p, "npmjs.org", 443).allowed);
    CHECK(decide(*p, "npmjs.org", 443).reason == "npmjs.org is not on the allow list");
  }

  TEST_CASE("ports: 443 for CONNECT and 80 for plain HTTP unless the entry names one") {
    const auto p = make({"allowed.com", "ssh.allowed.com:22/plain", "alt.test:8443"});
    CHECK(decide(*p, "allowed.com", 443).allowed);
    CHECK(decide(*p, "allowed.com", 443).tls);
    const Decision d22 = decide(*p, "allowed.com", 22);
    CHECK_FALSE(d22.allowed);
    CHECK(d22.reason == "port 22 is not allowed for allowed.com (allowed: 443)");
    // Every other allowed port is listed, also one whose digits another's contain.
    const auto ports = make({"a.test:8080", "a.test", "b.test:18443", "b.test:443"});
    CHECK(decide(*ports, "a.test", 81, Scheme::http).reason ==
          "port 81 is not allowed for a.test over plain HTTP (allowed: 80, 8080)");
    CHECK(decide(*ports, "b.test", 81).reason ==
          "port 81 is not allowed for b.test (allowed: 443, 18443)");
    CHECK_FALSE(decide(*p, "allowed.com", 80).allowed);  // CONNECT to 80 is not plain HTTP
    CHECK(decide(*p, "allowed.com", 80).reason ==
          "port 80 is not allowed for allowed.com (allowed: 443); to tunnel plain http:// "
          "through CONNECT, allow allowed.com:80/plain");
    CHECK(decide(*p, "allowed.com", 80, Scheme::http).allowed);
    CHECK_FALSE(decide(*p, "allowed.com", 443, Scheme::http).allowed);
    CHECK_FALSE(decide(*p, "allowed.com", 6379).allowed);
    // ssh.allowed.com matches both its own entry (22, plain) and allowed.com (443).
    const Decision ssh = decide(*p, "ssh.allowed.com", 22);
    CHECK(ssh.allowed);
    CHECK_FALSE(ssh.tls);
    CHECK(decide(*p, "alt.test", 8443).tls);
    CHECK(decide(*p, "alt.test", 8443, Scheme::http).allowed);
    CHECK_FALSE(decide(*p, "alt.test", 443).allowed);
  }

  TEST_CASE("the deny list always wins, and '*' denies everything") {
    const auto p = make({"npmjs.org", "allowed.com"}, {"bad.npmjs.org", "allowed.com:8443"});
    CHECK(decide(*p, "registry.npmjs.org", 443).allowed);
    const Decision bad = decide(*p, "x.bad.npmjs.org", 443);
    CHECK_FALSE(bad.allowed);
    CHECK(bad.reason == "x.bad.npmjs.org:443 is denied by the deny-list entry 'bad.npmjs.org'");
    CHECK(decide(*p, "allowed.com", 443).allowed);
    const auto all = make({"allowed.com"}, {"*"});
    CHECK_FALSE(decide(*all, "allowed.com", 443).allowed);
    const auto com = make({"allowed.com"}, {"*.com"});  // suffix patterns are fine in a deny list
    CHECK_FALSE(decide(*com, "allowed.com", 443).allowed);
  }

  TEST_CASE("IP literals match only the exact listed address, in any spelling") {
    const auto p = make({"127.0.0.1:3000", "[::1]:8080", "allowed.com"});
    for (const char* host :
         {"127.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "[::ffff:127.0.0.1]"}) {
      CAPTURE(host);
      CHECK(decide(*p, host, 3000).allowed);
      CHECK_FALSE(decide(*p, host, 3001).allowed);
    }
    CHECK(decide(*p, "[::1]", 8080).allowed);
    CHECK_FALSE(decide(*p, "127.0.0.2", 3000).allowed);
    CHECK_FALSE(decide(*p, "1.2.3.4", 443).allowed);  // a name entry never matches an IP
    CHECK(p->ip_listed(*parse_ip("127.0.0.1")));
    CHECK_FALSE(p->ip_listed(*parse_ip("127.0.0.2")));
  }

  TEST_CASE("essential domains are included by default") {
    const auto p = build_policy({});
    REQUIRE(p);
    CHECK(essential_domains().size() == 7);
    for (const std::string& d : essential_domains()) {
      CAPTURE(d);
      CHECK(decide(**p, d.c_str(), 443).allowed);
    }
    CHECK(decide(**p, "api.github.com", 443).allowed);
    CHECK_FALSE(decide(**p, "registry.npmjs.org", 443).allowed);
    const auto none = build_policy({.include_essential = false});
    REQUIRE(none);
    CHECK_FALSE(decide(**none, "github.com", 443).allowed);
  }

  TEST_CASE("entries that would open a registry or are malformed are refused, naming the entry") {
    struct Row {
      const char* entry;
      const char* says;
    };
    for (const Row& r :
         {Row{"*", "'*' would allow every host"}, Row{"*.com", "com is a public suffix"},
          Row{"com", "com is a public suffix"}, Row{"co.uk", "co.uk is a public suffix"},
          Row{"*.co.uk", "co.uk is a public suffix"}, Row{"github.io", "public suffix"},
          Row{"foo.ck", "public suffix"},  // *.ck rule
          Row{"https://example.com", "is a URL"}, Row{"example.com/path", "contains '/'"},
          Row{"ex*ample.com", "whole leading label"}, Row{"*.*.example.com", "whole leading label"},
          Row{"*.127.0.0.1", "not to IP addresses"}, Row{"example.com:0", "not a port"},
          Row{"example.com:99999", "not a port"}, Row{"::1:443", "brackets"},
          Row{"example.com/plain", "needs a port"}, Row{"exa mple.com", "character"},
          Row{"x\xe3\x80\x82"
              "example.com",
              "non-ASCII"}}) {
      CAPTURE(r.entry);
      const auto p = build_policy({.allowed = {r.entry}});
      REQUIRE_FALSE(p);
      CHECK(p.error().code == para::Errc::invalid_argument);
      CHECK(p.error().message.find("allowed domain '") == 0);
      CHECK(p.error().message.find(r.says) != std::string::npos);
    }
    CHECK(build_policy({.allowed = {"www.ck"}}));  // the !www.ck exception
    CHECK(
        build_policy({.allowed = {"raw.githubusercontent.com", "example.co.uk", "*.example.com"}}));
  }

  TEST_CASE("lists may be comma-separated with blanks; empty items are ignored") {
    CHECK(split_list({"a.com, b.com,,c.com", " d.com "}) ==
          std::vector<std::string>{"a.com", "b.com", "c.com", "d.com"});
    const auto p = make({"a.com, b.com"});
    CHECK(decide(*p, "b.com", 443).allowed);
  }

  TEST_CASE("pins map names to addresses and are validated") {
    const auto p =
        build_policy({.pins = {"Test.Example.:127.0.0.1", "test.example:[::1]", "v6.test:::1"}});
    REQUIRE(p);
    const auto* pinned = (*p)->pinned("test.example");
    REQUIRE(pinned != nullptr);
    CHECK(pinned->size() == 2);
    CHECK((*p)->pinned("v6.test") != nullptr);
    CHECK((*p)->pinned("other.test") == nullptr);
    for (const char* bad :
         {"test.example", "test.example:localhost", "1.2.3.4:127.0.0.1", ":127.0.0.1"}) {
      CAPTURE(bad);
      const auto r = build_policy({.pins = {bad}});
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("pin '") == 0);
    }
  }

  TEST_CASE("the public suffix table follows the list's wildcard and exception rules") {
    CHECK(is_public_suffix("com"));
    CHECK(is_public_suffix("co.uk"));
    CHECK(is_public_suffix("anything.ck"));
    CHECK_FALSE(is_public_suffix("www.ck"));
    CHECK_FALSE(is_public_suffix("example.com"));
    CHECK_FALSE(is_public_suffix("localhost"));
    CHECK(is_public_suffix("xn--p1ai"));  // .рф in its ASCII form
    CHECK(has_public_suffixes_below("bd"));
    CHECK(has_public_suffixes_below("kawasaki.jp"));
    CHECK_FALSE(has_public_suffixes_below("com"));
    CHECK_FALSE(has_public_suffixes_below("example.com"));
  }

  TEST_CASE("an allow entry spanning wildcard-rule suffixes is refused; a name below one is not") {
    for (const char* bad : {"bd", "*.bd", "ck", "*.ck", "kawasaki.jp", "*.kawasaki.jp:8080"}) {
      CAPTURE(bad);
      const auto r = build_policy({.allowed = {bad}, .include_essential = false});
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("public suffix") != std::string::npos);
    }
    for (const char* ok : {"example.com.bd", "www.ck", "city.kawasaki.jp", "localhost:3000"}) {
      CAPTURE(ok);
      CHECK(build_policy({.allowed = {ok}, .include_essential = false}));
    }
    CHECK(build_policy({.denied = {"bd"}, .include_essential = false}));
  }
}
