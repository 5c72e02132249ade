#include "proxy/host.h"

#include <doctest/doctest.h>

using namespace para::proxy;

TEST_SUITE("proxy/host") {
  TEST_CASE("names are lower-cased and lose exactly one trailing dot") {
    struct Row {
      const char* raw;
      const char* canonical;
    };
    for (const Row& r :
         {Row{"GitHub.COM", "github.com"}, Row{"api.Allowed.COM.", "api.allowed.com"},
          Row{"a_b-c.example", "a_b-c.example"}, Row{"xn--bcher-kva.de", "xn--bcher-kva.de"},
          Row{"localhost.", "localhost"}}) {
      CAPTURE(r.raw);
      const auto h = canonical_host(r.raw);
      REQUIRE(h);
      CHECK(h->text == r.canonical);
      CHECK(h->kind == HostKind::name);
    }
  }

  TEST_CASE("every inet_aton spelling of an IPv4 address becomes dotted decimal") {
    struct Row {
      const char* raw;
      const char* canonical;
    };
    for (const Row& r :
         {Row{"127.0.0.1", "127.0.0.1"}, Row{"127.1", "127.0.0.1"}, Row{"0x7f.0.0.1", "127.0.0.1"},
          Row{"0X7F.1", "127.0.0.1"}, Row{"2130706433", "127.0.0.1"},
          Row{"017700000001", "127.0.0.1"}, Row{"0177.0.0.01", "127.0.0.1"},
          Row{"0x7f000001", "127.0.0.1"}, Row{"169.254.43518", "169.254.169.254"},
          Row{"10.0.0.1.", "10.0.0.1"}, Row{"[::ffff:127.0.0.1]", "127.0.0.1"},
          Row{"::ffff:7f00:1", "127.0.0.1"}, Row{"[::FFFF:169.254.169.254]", "169.254.169.254"}}) {
      CAPTURE(r.raw);
      const auto h = canonical_host(r.raw);
      REQUIRE(h);
      CHECK(h->text == r.canonical);
      CHECK(h->kind == HostKind::ipv4);
    }
  }

  TEST_CASE("IPv6 literals are compressed and lower-cased, without brackets") {
    for (const char* raw : {"[::1]", "::1", "[0:0:0:0:0:0:0:1]"}) {
      CAPTURE(raw);
      const auto h = canonical_host(raw);
      REQUIRE(h);
      CHECK(h->text == "::1");
      CHECK(h->kind == HostKind::ipv6);
    }
    const auto h = canonical_host("[FE80:0000::0001]");
    REQUIRE(h);
    CHECK(h->text == "fe80::1");
    CHECK(host_for_url(*h) == "[fe80::1]");
    CHECK(authority_text(*h, 443) == "[fe80::1]:443");
  }

  TEST_CASE("malformed hosts are refused with a reason") {
    struct Row {
      std::string raw;
      const char* reason;
    };
    for (const Row& r : {Row{"", "empty"},
                         Row{"allowed.com..", "empty label"},
                         Row{"a..allowed.com", "empty label"},
                         Row{".allowed.com", "empty label"},
                         Row{std::string("evil\0.allowed.com", 17), "control"},
                         Row{"evil\r\n.allowed.com", "control"},
                         Row{"x\xe3\x80\x82"
                             "allowed.com",
                             "non-ASCII"},
                         Row{"\xd0\xb0"
                             "llowed.com",
                             "non-ASCII"},
                         Row{"allowed%2ecom", "'%'"},
                         Row{"[fe80::1%25eth0]", "zone"},
                         Row{"fe80::1%eth0", "'%'"},
                         Row{"a b.com", "character"},
                         Row{"a/b.com", "character"},
                         Row{"evil.0x7f", "not an IPv4"},
                         Row{"1.2.3.4.5", "more than 4"},
                         Row{"256.1.1.1", "larger than 255"},
                         Row{"1.2.3.256", "out of range"},
                         Row{"4294967296", "not an IPv4"},
                         Row{"[::1", "unclosed"},
                         Row{"[1.2.3.4]", "not an IPv6"},
                         Row{std::string(64, 'a') + ".com", "63"},
                         Row{std::string(254, 'a'), "253"}}) {
      CAPTURE(r.raw);
      const auto h = canonical_host(r.raw);
      REQUIRE_FALSE(h);
      CHECK(h.error().message.find(r.reason) != std::string::npos);
      CHECK(h.error().message.find('\0') == std::string::npos);
      CHECK(h.error().message.find('\n') == std::string::npos);
    }
  }

  TEST_CASE("authorities split into host and an optional strict port") {
    auto a = split_authority("example.com:8443");
    REQUIRE(a);
    CHECK(a->host == "example.com");
    CHECK(a->port == 8443);
    a = split_authority("[::1]:80");
    REQUIRE(a);
    CHECK(a->host == "[::1]");
    CHECK(a->port == 80);
    a = split_authority("example.com");
    REQUIRE(a);
    CHECK_FALSE(a->port.has_value());
    for (const char* bad : {"example.com:", "example.com:0", "example.com:65536",
                            "example.com:+443", "example.com:0443", "example.com:44a", "::1:443",
                            "[::1]x", ":443", "example.com:443:1"}) {
      CAPTURE(bad);
      CHECK_FALSE(split_authority(bad));
    }
  }

  TEST_CASE("printable escapes everything but plain ASCII") {
    CHECK(printable(std::string("a\0b\r\n\xff", 6)) == "a\\x00b\\x0d\\x0a\\xff");
    CHECK(printable(std::string(100, 'x'), 10) == "xxxxxxxxxx...");
    CHECK(printable("entry 'a\\b' \"q\"") == "entry \\x27a\\x5cb\\x27 \\x22q\\x22");
    // A whole message made of escaped parts keeps its own quotes.
    CHECK(printable("denied by 'evil.test'\n", 80, false) == "denied by 'evil.test'\\x0a");
  }
}
