// sandbox-anchors.md §D, rows 1-11: every bypass is a test that is blocked,
// next to its allowed counterpart that succeeds. Row 10 (a tool that ignores
// the proxy) is an OS-layer property; its proxy-side half is in relay_test.cpp
// (no route out of the namespace except the relay). ~10 s.

#include <doctest/doctest.h>
#include <ifaddrs.h>

#include "proxy/address.h"
#include "tests/integration/proxy/fixtures.h"

using namespace para;
using namespace para::test;
using namespace std::chrono_literals;

namespace {

// Listener `strict` allows allowed.test (and subdomains) on the echo port as
// a TLS port, and on the plain HTTP server; listener `literal` also allows the
// IP literal 127.0.0.1 on the echo port. Test names are pinned to loopback.
struct Bypass {
  Certs certs;
  HttpsServer https{certs};
  HttpServer http;
  HttpServer evil_http;
  TcpServer echo;
  InProcessProxy proxy;
  std::string strict, literal;
  std::string echo_port = std::to_string(echo.port());

  Bypass() {
    const std::vector<std::string> pins = {
        "allowed.test:127.0.0.1",         "sub.allowed.test:127.0.0.1",
        "xn--80a.allowed.test:127.0.0.1", "evil.test:127.0.0.1",
        "evilallowed.test:127.0.0.1",     "allowed.test.evil.test:127.0.0.1",
        "meta.test:169.254.169.254"};
    const std::vector<std::string> allowed = {
        "allowed.test:" + echo_port, "allowed.test:" + std::to_string(https.port()),
        "allowed.test:" + std::to_string(http.port()), "meta.test:" + echo_port};
    strict =
        proxy.listen_tcp({.allowed = allowed, .include_essential = false, .pins = pins}, "strict");
    std::vector<std::string> with_literal = allowed;
    with_literal.push_back("127.0.0.1:" + echo_port + "/plain");
    literal = proxy.listen_tcp({.allowed = with_literal, .include_essential = false, .pins = pins},
                               "literal");
    proxy.start();
  }

  // CONNECT, then send `first` and expect it echoed: the tunnel reached the echo server.
  bool tunnel_echoes(const std::string& endpoint, const std::string& target,
                     const std::string& first) {
    Client c(endpoint);
    if (status_of(connect_through(c, target)) != 200) return false;
    c.send(first);
    return c.read_exactly(first.size(), 5s) == first;
  }
  // CONNECT and return the status (0 when the connection closed without one).
  int connect_status(const std::string& endpoint, const std::string& target) {
    Client c(endpoint);
    return status_of(connect_through(c, target));
  }
  int raw_status(const std::string& endpoint, const std::string& head) {
    Client c(endpoint);
    c.send(head);
    std::string reply;
    c.read_to_eof(&reply, 5s);
    return status_of(reply);
  }
  std::string log(const char* session) const { return proxy.log_path(session); }
};

}  // namespace

TEST_SUITE("proxy/bypass") {
  TEST_CASE("row 1: a ClientHello whose SNI differs from the CONNECT host is refused") {
    Bypass b;
    const std::string target = "allowed.test:" + b.echo_port;
    CHECK(b.tunnel_echoes(b.strict, target, client_hello("allowed.test")));
    CHECK(b.tunnel_echoes(b.strict, target, client_hello("ALLOWED.test.")));  // same canonical host
    CHECK_FALSE(b.tunnel_echoes(b.strict, target, client_hello("evil.test")));
    CHECK_FALSE(b.tunnel_echoes(b.strict, target, client_hello("")));  // no SNI at all
    CHECK_FALSE(wait_for_log(b.log("strict"), {"server name evil.test does not match"}).empty());
    // Dialled, but not one refused byte was forwarded. (The echo server
    // accepts on its own thread: the last connection can lag the replies.)
    CHECK(wait_until([&] { return b.echo.accepted() >= 4; }));

    // The same with curl: --connect-to makes it CONNECT to allowed.test while
    // its TLS names evil.test (curl -x P --connect-to evil:443:allowed:443).
    const std::string port = std::to_string(b.https.port());
    const Completed fronted = curl({"-x", "http://" + b.strict, "--cacert", b.certs.cert(),
                                    "--connect-to", "evil.test:" + port + ":allowed.test:" + port,
                                    "https://evil.test:" + port + "/hello"});
    CHECK(fronted.exit_code != 0);
    CHECK(fronted.out.empty());
    const Completed ok = curl({"-x", "http://" + b.strict, "--cacert", b.certs.cert(),
                               "https://allowed.test:" + port + "/hello"});
    CHECK(ok.out == "hello");
  }

  TEST_CASE("row 2: IP literals in every spelling are denied unless the literal is listed") {
    Bypass b;
    for (const char* host :
         {"127.0.0.1", "127.1", "0x7f.0.0.1", "0x7f.1", "2130706433", "017700000001", "0177.0.0.1",
          "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"}) {
      CAPTURE(host);
      const std::string target = std::string(host) + ":" + b.echo_port;
      CHECK(b.connect_status(b.strict, target) == 403);
      CHECK(b.tunnel_echoes(b.literal, target, "raw bytes"));
    }
    CHECK(b.raw_status(b.strict, "GET http://2130706433:" + std::to_string(b.http.port()) +
                                     "/ HTTP/1.1\r\n\r\n") == 403);
    CHECK(b.connect_status(b.literal, "127.0.0.2:" + b.echo_port) ==
          403);  // only the exact address
    CHECK(b.http.requests().empty());
  }

  TEST_CASE("an IP the deny list names is refused also when an allowed name resolves to it") {
    Bypass b;
    InProcessProxy proxy;
    const std::string denied = proxy.listen_tcp({.allowed = {"allowed.test:" + b.echo_port},
                                                 .denied = {"127.0.0.1"},
                                                 .include_essential = false,
                                                 .pins = {"allowed.test:127.0.0.1"}},
                                                "denied");
    proxy.start();
    CHECK(b.connect_status(denied, "allowed.test:" + b.echo_port) == 403);
    CHECK_FALSE(wait_for_log(proxy.log_path("denied"), {"which the deny list names"}).empty());
    CHECK(b.tunnel_echoes(b.strict, "allowed.test:" + b.echo_port, client_hello("allowed.test")));
  }

  TEST_CASE("a head with a bare LF is refused at once, not at the head timeout") {
    Bypass b;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(b.raw_status(b.strict, "CONNECT allowed.test:" + b.echo_port + " HTTP/1.1\n\n") == 400);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }

  TEST_CASE("row 3: a pinned name to a metadata endpoint is never dialled") {
    Bypass b;
    CHECK(b.connect_status(b.strict, "meta.test:" + b.echo_port) == 403);
    const std::string line = wait_for_log(b.log("strict"), {"meta.test", "\"status\":403"});
    CHECK(line.find("169.254.169.254 is a cloud metadata endpoint") != std::string::npos);
    CHECK(b.tunnel_echoes(b.strict, "allowed.test:" + b.echo_port, client_hello("allowed.test")));
  }

  TEST_CASE("row 4: trailing dots and case are canonicalised; empty labels are refused") {
    Bypass b;
    CHECK(b.tunnel_echoes(b.strict, "ALLOWED.Test.:" + b.echo_port, client_hello("allowed.test")));
    CHECK(b.connect_status(b.strict, "allowed.test..:" + b.echo_port) == 400);
    CHECK(b.connect_status(b.strict, ".allowed.test:" + b.echo_port) == 400);
    CHECK(b.connect_status(b.strict, "localhost.:" + b.echo_port) == 403);
  }

  TEST_CASE("row 5: Unicode dots and homoglyphs are refused; xn-- labels match as ASCII") {
    Bypass b;
    for (const char* host : {"x\xe3\x80\x82"
                             "allowed.test",
                             "allowed\xef\xbc\x8e"
                             "test",
                             "\xd0\xb0"
                             "llowed.test"}) {
      CAPTURE(host);
      CHECK(b.connect_status(b.strict, std::string(host) + ":" + b.echo_port) == 400);
    }
    CHECK(b.tunnel_echoes(b.strict, "xn--80a.allowed.test:" + b.echo_port,
                          client_hello("xn--80a.allowed.test")));
  }

  TEST_CASE("row 6: NUL, percent-encoded and control bytes in the host are refused") {
    Bypass b;
    CHECK(b.raw_status(b.strict, "CONNECT evil.test" + std::string(1, '\0') +
                                     ".allowed.test:" + b.echo_port + " HTTP/1.1\r\n\r\n") == 400);
    CHECK(b.connect_status(b.strict, "evil.test%00.allowed.test:" + b.echo_port) == 400);
    CHECK(b.raw_status(b.strict, "CONNECT evil.test\r.allowed.test:" + b.echo_port +
                                     " HTTP/1.1\r\n\r\n") == 400);
    CHECK(b.raw_status(b.strict, "CONNECT evil.test\t.allowed.test:" + b.echo_port +
                                     " HTTP/1.1\r\n\r\n") == 400);
    CHECK(b.tunnel_echoes(b.strict, "allowed.test:" + b.echo_port, client_hello("allowed.test")));
  }

  TEST_CASE("row 7: IPv6 zone IDs are refused; the bare mapped literal is allowed when listed") {
    Bypass b;
    CHECK(b.connect_status(b.literal, "[fe80::1%25eth0]:" + b.echo_port) == 400);
    CHECK(b.connect_status(b.literal, "[::ffff:127.0.0.1%x.allowed.test]:" + b.echo_port) == 400);
    CHECK(b.tunnel_echoes(b.literal, "[::ffff:127.0.0.1]:" + b.echo_port, "raw"));
  }

  TEST_CASE("row 8: ports other than the listed ones are refused") {
    Bypass b;
    for (const char* port : {"22", "25", "6379", "443", "80"}) {
      CAPTURE(port);
      Client c(b.strict);
      const std::string reply = connect_through(c, std::string("allowed.test:") + port);
      CHECK(status_of(reply) == 403);
      CHECK(reply.find("port " + std::string(port) + " is not allowed for allowed.test") !=
            std::string::npos);
    }
    CHECK(b.tunnel_echoes(b.strict, "allowed.test:" + b.echo_port, client_hello("allowed.test")));
  }

  TEST_CASE("row 9: suffix confusion and userinfo do not pass") {
    Bypass b;
    CHECK(b.connect_status(b.strict, "allowed.test.evil.test:" + b.echo_port) == 403);
    CHECK(b.connect_status(b.strict, "evilallowed.test:" + b.echo_port) == 403);
    CHECK(b.connect_status(b.strict, "allowed.test@evil.test:" + b.echo_port) == 400);
    const std::string http_port = std::to_string(b.http.port());
    CHECK(b.raw_status(b.strict, "GET http://allowed.test@evil.test:" + http_port +
                                     "/ HTTP/1.1\r\n\r\n") == 400);
    // curl moves userinfo into an Authorization header; the host it asks for is evil.test.
    const Completed r = curl({"-x", "http://" + b.strict, "-w", "%{http_code}", "-o", "/dev/null",
                              "http://allowed.test:x@evil.test:" + http_port + "/"});
    CHECK(r.out == "403");
    CHECK(b.http.requests().empty());
    CHECK(b.tunnel_echoes(b.strict, "sub.allowed.test:" + b.echo_port,
                          client_hello("sub.allowed.test")));
  }

  TEST_CASE("row 11: a nested CONNECT inside a tunnel and pipelined requests reach nothing else") {
    Bypass b;
    // Inside a tunnel to a TLS port, a plaintext CONNECT is not a ClientHello.
    Client nested(b.strict);
    REQUIRE(status_of(connect_through(nested, "allowed.test:" + b.echo_port)) == 200);
    nested.send("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
    std::string echoed;
    CHECK(nested.read_to_eof(&echoed, 5s));
    CHECK(echoed.empty());
    CHECK_FALSE(wait_for_log(b.log("strict"), {"did not start with a TLS ClientHello"}).empty());

    // A second absolute-form request pipelined after an allowed one is refused
    // before any origin is dialled (one request per connection).
    const std::string ok_port = std::to_string(b.http.port());
    const std::string evil_port = std::to_string(b.evil_http.port());
    Client pipelined(b.strict);
    pipelined.send("GET http://allowed.test:" + ok_port + "/one HTTP/1.1\r\nHost: allowed.test:" +
                   ok_port + "\r\n\r\nGET http://evil.test:" + evil_port +
                   "/two HTTP/1.1\r\nHost: evil.test:" + evil_port + "\r\n\r\n");
    std::string reply;
    pipelined.read_to_eof(&reply, 5s);
    CHECK(status_of(reply) == 400);
    CHECK(reply.find("one request per connection") != std::string::npos);
    CHECK(b.http.requests().empty());
    CHECK(b.evil_http.requests().empty());

    // An origin that keeps the connection open despite "Connection: close"
    // (here: the echo server, which answers with the request it got) does
    // not carry a second request: the proxy ends the connection instead.
    Client kept(b.strict);
    kept.send("GET http://allowed.test:" + b.echo_port +
              "/one HTTP/1.1\r\nHost: allowed.test:" + b.echo_port + "\r\n\r\n");
    CHECK(kept.read_until("\r\n\r\n").find("GET /one HTTP/1.1") == 0);
    kept.send("GET http://evil.test:" + b.echo_port +
              "/two?token=T HTTP/1.1\r\nHost: evil.test:" + b.echo_port + "\r\n\r\n");
    std::string after;
    CHECK(kept.read_to_eof(&after, 5s));
    CHECK(after.empty());
    CHECK_FALSE(wait_for_log(b.log("strict"), {"a second request on it"}).empty());
    // Its allowed counterpart: a request with a body of the declared length.
    Client post(b.strict);
    post.send("POST http://allowed.test:" + ok_port + "/form HTTP/1.1\r\nHost: allowed.test:" +
              ok_port + "\r\nContent-Length: 5\r\n\r\nhello");
    std::string posted;
    post.read_to_eof(&posted, 5s);
    CHECK(posted.find("seen /form") != std::string::npos);
    // A body without a length cannot be framed, so it is refused.
    CHECK(b.raw_status(b.strict, "POST http://allowed.test:" + ok_port +
                                     "/c HTTP/1.1\r\nHost: allowed.test:" + ok_port +
                                     "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 411);

    // CONNECT to the proxy's own address, to chain through itself, is refused.
    CHECK(b.connect_status(b.strict, b.strict) == 403);
    CHECK(b.tunnel_echoes(b.strict, "allowed.test:" + b.echo_port, client_hello("allowed.test")));
  }

  TEST_CASE("row 3: names that the real resolver maps to local and metadata addresses are refused" *
            doctest::skip(!bwrap_works())) {
    // The proxy runs under bwrap with its own /etc/hosts, so glibc's real
    // getaddrinfo answers these names; the network namespace is shared.
    TcpServer echo;
    TempDir dir;
    std::string own;  // a non-loopback address of this machine, if any
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) == 0) {
      for (ifaddrs* p = list; p != nullptr && own.empty(); p = p->ifa_next) {
        const auto ip = proxy::from_sockaddr(p->ifa_addr);
        if (ip && proxy::classify(*ip) != proxy::AddressClass::loopback &&
            proxy::classify(*ip) != proxy::AddressClass::link_local) {
          own = proxy::to_string(*ip);
        }
      }
      freeifaddrs(list);
    }
    std::string hosts =
        "127.0.0.1 localhost\n10.0.0.1 rebind-private.test\n169.254.169.254 rebind-metadata.test\n"
        "127.0.0.1 rebind-loopback.test\n100.64.1.1 rebind-cgnat.test\nfd00::1 rebind-ula.test\n"
        "::ffff:127.0.0.1 rebind-mapped.test\n192.168.7.7 rebind-mixed.test\n127.0.0.1 good.test\n";
    if (!own.empty()) hosts += own + " rebind-own.test\n";
    write_text(dir / "hosts", hosts);
    const std::vector<std::string> bwrap = {"bwrap",      "--dev-bind",        "/",
                                            "/",          "--ro-bind",         dir / "hosts",
                                            "/etc/hosts", "--die-with-parent", "--"};
    const std::string entry = "*.test:" + std::to_string(echo.port()) + "/plain";

    ProxyProcess strict({"--allowed-domains", entry, "--no-essential-domains"}, bwrap);
    std::vector<std::string> names = {
        "rebind-private.test", "rebind-metadata.test", "rebind-loopback.test", "rebind-cgnat.test",
        "rebind-ula.test",     "rebind-mapped.test",   "rebind-mixed.test",    "good.test"};
    if (!own.empty()) names.push_back("rebind-own.test");
    for (const std::string& name : names) {
      CAPTURE(name);
      Client c(strict.endpoint());
      const std::string reply = connect_through(c, name + ":" + std::to_string(echo.port()));
      CHECK(status_of(reply) == 403);
      CHECK(reply.find(name + " resolves to ") != std::string::npos);
    }
    CHECK(echo.accepted() == 0);  // nothing was dialled

    ProxyProcess local(
        {"--allowed-domains", entry, "--no-essential-domains", "--allow-local-destinations"},
        bwrap);
    Client good(local.endpoint());
    REQUIRE(status_of(connect_through(good, "good.test:" + std::to_string(echo.port()))) == 200);
    good.send("real resolver");
    CHECK(good.read_exactly(13) == "real resolver");
    Client meta(local.endpoint());
    CHECK(status_of(connect_through(meta, "rebind-metadata.test:" + std::to_string(echo.port()))) ==
          403);
    CHECK(echo.accepted() == 1);
  }

  TEST_CASE(
      "row 3: a name is resolved as it was checked, never completed with the resolver's search "
      "domains" *
      doctest::skip(!bwrap_works())) {
    // The proxy runs in a network namespace of its own, with a resolv.conf
    // that searches corp.test and a DNS server (dns-stub) that knows
    // nope.allowed.test only as nope.allowed.test.corp.test. glibc would
    // try that name once nope.allowed.test fails.
    TempDir dir;
    write_text(dir / "resolv.conf",
               "nameserver 127.0.0.1\nsearch corp.test\noptions attempts:1 timeout:2\n");
    write_text(dir / "nsswitch.conf", "hosts: files dns\n");
    write_text(dir / "hosts", "127.0.0.1 localhost\n");
    std::vector<std::string> isolated = {"bwrap", "--dev-bind", "/", "/", "--unshare-net"};
    for (const std::string file : {"resolv.conf", "nsswitch.conf", "hosts"}) {
      isolated.insert(isolated.end(), {"--ro-bind", dir / file, "/etc/" + file});
    }
    isolated.insert(isolated.end(), {"--die-with-parent", "--", built_binary("dns-stub")});
    for (const char* answer :
         {"nope.allowed.test.corp.test=127.0.0.2", "real.allowed.test=127.0.0.3"}) {
      isolated.insert(isolated.end(), {"--answer", answer});
    }
    isolated.push_back("--");
    ProxyProcess proxy({"--allowed-domains", "allowed.test", "--no-essential-domains", "--listen",
                        "unix:" + (dir / "proxy.sock")},
                       isolated);

    // The counterpart: a name the server knows resolves, and is checked.
    Client real(proxy.endpoint());
    const std::string known = connect_through(real, "real.allowed.test:443");
    CHECK(status_of(known) == 403);
    CHECK(known.find("real.allowed.test resolves to 127.0.0.3") != std::string::npos);

    Client nope(proxy.endpoint());
    const std::string unknown = connect_through(nope, "nope.allowed.test:443");
    CHECK(status_of(unknown) == 502);
    CHECK(unknown.find("cannot resolve nope.allowed.test") != std::string::npos);
    const std::string asked = proxy.stderr_text();
    CHECK(asked.find("dns-stub: query nope.allowed.test\n") != std::string::npos);
    CHECK(asked.find("nope.allowed.test.corp.test") == std::string::npos);
  }
}
