#include "proxy/head.h"

#include <doctest/doctest.h>

using namespace para::proxy;
using Status = ParsedHead::Status;

namespace {
ParsedHead parse(const std::string& text, size_t max = 16384) {
  return parse_head(text, max);
}
void check_invalid(const std::string& text, int status, const char* says) {
  CAPTURE(text);
  const ParsedHead p = parse(text);
  REQUIRE(p.status == Status::invalid);
  CHECK(p.error_status == status);
  CHECK(p.error.find(says) != std::string::npos);
  CHECK(p.error.find('\n') == std::string::npos);
}
}  // namespace

TEST_SUITE("proxy/head") {
  TEST_CASE("a CONNECT head gives the canonical host, the port and its size") {
    const std::string text =
        "CONNECT API.Allowed.COM.:443 HTTP/1.1\r\nHost: api.allowed.com:443\r\n"
        "Proxy-Authorization: Basic dTpw\r\n\r\n\x16\x03\x01";
    const ParsedHead p = parse(text);
    REQUIRE(p.status == Status::complete);
    CHECK(p.head.connect);
    CHECK(p.head.host.text == "api.allowed.com");
    CHECK(p.head.port == 443);
    CHECK(p.head.size == text.size() - 3);
    CHECK(p.head.proxy_authorization == "Basic dTpw");
  }

  TEST_CASE("an incomplete head asks for more, until the size limit") {
    CHECK(parse("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com\r\n").status == Status::incomplete);
    CHECK(parse_head(std::string(100, 'A'), 100).status == Status::invalid);
    const std::string big =
        "CONNECT a.com:443 HTTP/1.1\r\nX: " + std::string(200, 'x') + "\r\n\r\n";
    CHECK(parse_head(big, 100).status == Status::invalid);
    check_invalid(std::string("CONNECT a\0", 10), 400, "NUL");
  }

  TEST_CASE("absolute-form requests become origin-form with hop-by-hop headers removed") {
    const std::string text =
        "GET http://Example.COM/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n"
        "Proxy-Connection: keep-alive\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
        "Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\nAccept: */*\r\n\r\n";
    const ParsedHead p = parse(text);
    REQUIRE(p.status == Status::complete);
    CHECK_FALSE(p.head.connect);
    CHECK(p.head.port == 80);
    CHECK(p.head.path == "/a/b?q=1");
    CHECK(origin_request(p.head) ==
          "GET /a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n"
          "Connection: close\r\n\r\n");
  }

  TEST_CASE("an absolute-form request keeps a non-default port in Host and adds a root path") {
    const ParsedHead p =
        parse("POST http://example.com:8080?x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    REQUIRE(p.status == Status::complete);
    CHECK(p.head.port == 8080);
    CHECK(origin_request(p.head) ==
          "POST /?x HTTP/1.0\r\nHost: example.com:8080\r\nContent-Length: 3\r\nConnection: "
          "close\r\n\r\n");
  }

  TEST_CASE("malformed and ambiguous heads are refused with 400 and a reason") {
    check_invalid("CONNECT a.com HTTP/1.1\r\n\r\n", 400, "host:port");
    check_invalid("CONNECT a.com:0 HTTP/1.1\r\n\r\n", 400, "not a port");
    check_invalid("CONNECT a.com:99999 HTTP/1.1\r\n\r\n", 400, "not a port");
    check_invalid("CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400, "brackets");
    check_invalid("CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n\r\n", 400, "zone");
    check_invalid("CONNECT user@a.com:443 HTTP/1.1\r\n\r\n", 400, "userinfo");
    check_invalid("GET http://allowed.com@evil.net/ HTTP/1.1\r\n\r\n", 400, "userinfo");
    check_invalid("GET http://a.com/#frag HTTP/1.1\r\n\r\n", 400, "fragment");
    check_invalid("GET https://a.com/ HTTP/1.1\r\n\r\n", 400, "CONNECT");
    check_invalid("GET / HTTP/1.1\r\nHost: a.com\r\n\r\n", 400, "origin-form");
    check_invalid("GET ftp://a.com/ HTTP/1.1\r\n\r\n", 400, "not an http");
    check_invalid("CONNECT a.com:443 HTTP/2.0\r\n\r\n", 400, "version");
    check_invalid("CONNECT  a.com:443 HTTP/1.1\r\n\r\n", 400, "request line");
    check_invalid("CONNECT a.com:443\r\n\r\n", 400, "request line");
    check_invalid("CONNECT a.com:443 HTTP/1.1\nHost: a.com\r\n\r\n", 400, "bare LF");
    check_invalid("CONNECT a.com:443 HTTP/1.1\n\n", 400, "bare LF");  // never completes
    check_invalid("CONNECT a.com:443 HTTP/1.1\n", 400, "bare LF");
    check_invalid("POST http://a.com/ HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400,
                  "invalid Content-Length");
    check_invalid("POST http://a.com/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400,
                  "invalid Content-Length");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com\rX: y\r\n\r\n", 400, "bare CR");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400, "obs-fold");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nX : a\r\n\r\n", 400, "header name");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nX: a\x01\r\n\r\n", 400, "control");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com\r\nHost: a.com\r\n\r\n", 400,
                  "duplicate Host");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nHost: evil.com:443\r\n\r\n", 400,
                  "does not agree");
    check_invalid("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:8443\r\n\r\n", 400, "does not agree");
    check_invalid("GET http://a.com/ HTTP/1.1\r\nHost: evil.com\r\n\r\n", 400, "does not agree");
    check_invalid(
        "POST http://a.com/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        400, "Transfer-Encoding");
    check_invalid("POST http://a.com/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                  400, "conflicting");
    check_invalid(
        "CONNECT x\xe3\x80\x82"
        "a.com:443 HTTP/1.1\r\n\r\n",
        400, "non-ASCII");
  }

  TEST_CASE("a Host header in another spelling of the same host agrees") {
    const ParsedHead p =
        parse("CONNECT 127.1:443 HTTP/1.1\r\nHost: [::ffff:127.0.0.1]:443\r\n\r\n");
    REQUIRE(p.status == Status::complete);
    CHECK(p.head.host.text == "127.0.0.1");
    CHECK(parse("CONNECT a.com:443 HTTP/1.1\r\nHost: A.COM.\r\n\r\n").status == Status::complete);
  }

  TEST_CASE("unsupported methods get 405") {
    check_invalid("TRACE http://a.com/ HTTP/1.1\r\n\r\n", 405, "TRACE");
    check_invalid("PRI * HTTP/1.1\r\n\r\n", 405, "PRI");
  }

  TEST_CASE("take_response_heads: the final head says Connection: close, in any chunking") {
    const std::string origin =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: Keep-Alive\r\n"
        "Keep-Alive: timeout=5\r\nContent-Length: 4\r\n\r\nbody";
    const std::string expected =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
        "Connection: close\r\n\r\nbody";
    for (size_t chunk : {size_t(1), size_t(7), origin.size()}) {
      CAPTURE(chunk);
      std::string pending, out;
      bool done = false;
      for (size_t i = 0; i < origin.size(); i += chunk) {
        if (done) {
          out += origin.substr(i, chunk);  // relayed unread
          continue;
        }
        pending += origin.substr(i, chunk);
        out += take_response_heads(pending, 8192, done);
      }
      CHECK(done);
      CHECK(out == expected);
    }
    // Without an end of head within the limit: passed on as it is.
    std::string junk(100, 'j');
    bool done = false;
    CHECK(take_response_heads(junk, 64, done) == std::string(100, 'j'));
    CHECK(done);
  }
}
