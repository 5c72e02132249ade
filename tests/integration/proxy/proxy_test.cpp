// The proxy with real clients (curl, openssl s_client, raw sockets) against
// real loopback servers under test names. ~15 s in a normal build.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <thread>

#include "proxy/decision_log.h"
#include "tests/integration/proxy/fixtures.h"

using namespace para;
using namespace para::test;
using namespace std::chrono_literals;

namespace {

std::string pin(const char* name) {
  return std::string(name) + ":127.0.0.1";
}

// A proxy, an HTTPS server and an HTTP server, with allowed.test and evil.test
// both pinned to loopback; only allowed.test is allowed (on both servers' ports).
struct World {
  Certs certs;
  HttpsServer https{certs};
  HttpServer http;
  TcpServer echo{TcpServer::Mode::echo};
  InProcessProxy proxy;
  std::string endpoint;
  World() {
    endpoint = proxy.listen_tcp(
        {.allowed = {"allowed.test:" + std::to_string(https.port()),
                     "allowed.test:" + std::to_string(http.port()),
                     "allowed.test:" + std::to_string(echo.port()) + "/plain"},
         .include_essential = false,
         .pins = {pin("allowed.test"), pin("sub.allowed.test"), pin("evil.test")}});
    proxy.start();
  }
  std::string url(const std::string& host, uint16_t port, const std::string& path,
                  const char* scheme = "https") const {
    return std::string(scheme) + "://" + host + ":" + std::to_string(port) + path;
  }
  std::string proxy_url() const { return "http://" + endpoint; }
  std::string log() const { return proxy.log_path("test"); }
};

// A proxy allowing a raw (plain) port of an echo server, and one client
// whose tunnel to it is established.
struct EchoTunnel {
  TcpServer echo;
  InProcessProxy proxy;
  Client client;
  explicit EchoTunnel(proxy::ServerOptions options = {})
      : proxy(std::move(options)), client(start(proxy, echo)) {
    REQUIRE(status_of(connect_through(client, "allowed.test:" + std::to_string(echo.port()))) ==
            200);
  }
  static std::string start(InProcessProxy& p, const TcpServer& e) {
    const std::string endpoint =
        p.listen_tcp({.allowed = {"allowed.test:" + std::to_string(e.port()) + "/plain"},
                      .include_essential = false,
                      .pins = {pin("allowed.test")}});
    p.start();
    return endpoint;
  }
};

// A listening socket on 127.0.0.1 and a free port; its port in `*port`.
int listen_on_loopback(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}

// A one-shot origin on 127.0.0.1: answers the first request on the first
// connection with `response`, then ends it with FIN, or with RST (`reset`).
class OneShotOrigin {
 public:
  OneShotOrigin(std::string response, bool reset) {
    fd_ = listen_on_loopback(&port_);
    thread_ = std::thread([this, response = std::move(response), reset] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      for (size_t off = 0; off < response.size();) {
        const ssize_t n = ::send(c, response.data() + off, response.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      if (reset) {
        const linger abort{1, 0};
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      }
      ::close(c);
    });
  }
  ~OneShotOrigin() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// An origin on 127.0.0.1 that sends `greeting` on its first connection,
// then reads until that connection ends and records how: 0 for an orderly
// end (FIN), else the errno (ECONNRESET for a reset).
class HoldingOrigin {
 public:
  explicit HoldingOrigin(std::string greeting) {
    fd_ = listen_on_loopback(&port_);
    thread_ = std::thread([this, greeting = std::move(greeting)] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      (void)::send(c, greeting.data(), greeting.size(), MSG_NOSIGNAL);
      char buf[65536];
      ssize_t n;
      while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) received_ += static_cast<size_t>(n);
      end_ = n == 0 ? 0 : errno;
      ::close(c);
    });
  }
  ~HoldingOrigin() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  /// How the connection ended, once it has (-1 until then).
  int wait_end(std::chrono::seconds timeout) const {
    wait_until([&] { return end_.load() != -1; }, timeout);
    return end_.load();
  }
  size_t received() const { return received_.load(); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> end_{-1};
  std::atomic<size_t> received_{0};
  std::thread thread_;
};

// Reads until the connection ends: 0 for an orderly end (FIN), else errno.
int read_until_end(Client& c, std::string& out) {
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n == 0) return 0;
    if (n < 0) return errno;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

TEST_SUITE("proxy/integration") {
  TEST_CASE("plain HTTP responses say Connection: close; an origin's reset reaches the client") {
    InProcessProxy proxy;
    OneShotOrigin keep_alive(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Other: 1\r\n\r\nok",
        false);
    OneShotOrigin resets("HTTP/1.1 200 OK\r\n\r\n" + std::string(100000, 'x'), true);
    const std::string endpoint =
        proxy.listen_tcp({.allowed = {"origin.test:" + std::to_string(keep_alive.port()),
                                      "origin.test:" + std::to_string(resets.port())},
                          .include_essential = false,
                          .pins = {pin("origin.test")}});
    proxy.start();
    // A client that takes the origin's keep-alive at its word reuses the
    // connection the proxy ends after one request (python-requests, git).
    Client c(endpoint);
    REQUIRE(c.send("GET http://origin.test:" + std::to_string(keep_alive.port()) +
                   "/ HTTP/1.1\r\nHost: origin.test:" + std::to_string(keep_alive.port()) +
                   "\r\n\r\n"));
    std::string response;
    CHECK(read_until_end(c, response) == 0);
    CHECK(response ==
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
          "X-Other: 1\r\nConnection: close\r\n\r\nok");

    // A transfer the origin cut with a reset must not look complete.
    Client r(endpoint);
    REQUIRE(r.send("GET http://origin.test:" + std::to_string(resets.port()) +
                   "/ HTTP/1.1\r\nHost: origin.test:" + std::to_string(resets.port()) +
                   "\r\n\r\n"));
    std::string cut;
    const int end = read_until_end(r, cut);
    INFO("got " << cut.size() << " bytes; log: " << read_text(proxy.log_path("test")));
    CHECK(end == ECONNRESET);
  }

  TEST_CASE(
      "a plain request gets 504 from a silent origin and 502 from one that ends without a "
      "response") {
    InProcessProxy proxy({.response_timeout = 1s});
    TcpServer silent(TcpServer::Mode::silent);
    OneShotOrigin closes("", false);
    OneShotOrigin resets("", true);
    const auto target = [](uint16_t port) { return "origin.test:" + std::to_string(port); };
    const std::string endpoint = proxy.listen_tcp(
        {.allowed = {target(silent.port()), target(closes.port()), target(resets.port())},
         .include_essential = false,
         .pins = {pin("origin.test")}});
    proxy.start();
    struct Row {
      uint16_t port;
      int status;
      std::string reason;
    };
    for (const Row& row : std::vector<Row>{
             {silent.port(), 504, target(silent.port()) + " sent no response within 1 s"},
             {closes.port(), 502,
              target(closes.port()) + " closed the connection without a response"},
             {resets.port(), 502, target(resets.port()) + " failed before responding: server "}}) {
      CAPTURE(row.port);
      Client c(endpoint);
      REQUIRE(c.send("GET http://" + target(row.port) + "/ HTTP/1.1\r\nHost: " + target(row.port) +
                     "\r\n\r\n"));
      std::string reply;
      CHECK(c.read_to_eof(&reply, 10s));
      CHECK(status_of(reply) == row.status);
      CHECK(reply.find("\r\n\r\n" + row.reason) != std::string::npos);
      const auto log = proxy::read_decisions(proxy.log_path("test"), 10);
      REQUIRE(log);
      REQUIRE_FALSE(log->empty());
      CHECK(log->back()["decision"] == "error");
      CHECK(log->back()["status"] == row.status);
    }
    CHECK(proxy.server().stats().tunnels == 0);
  }

  TEST_CASE("a client's reset reaches the origin also in a spliced tunnel") {
    InProcessProxy proxy;
    HoldingOrigin origin("");
    const std::string endpoint =
        proxy.listen_tcp({.allowed = {"origin.test:" + std::to_string(origin.port()) + "/plain"},
                          .include_essential = false,
                          .pins = {pin("origin.test")}});
    proxy.start();
    std::optional<Client> c(std::in_place, endpoint);
    REQUIRE(status_of(connect_through(*c, "origin.test:" + std::to_string(origin.port()))) == 200);
    // Past splice_after the tunnel moves to splice(2) at the next read that
    // was passed on whole: chunks sent once the last one has arrived.
    const std::string chunk(64 * 1024, 'u');
    size_t sent = 0;
    for (int i = 0; i < 40 && proxy.server().stats().spliced == 0; ++i) {
      REQUIRE(c->send(chunk));
      sent += chunk.size();
      REQUIRE(wait_until([&] { return origin.received() == sent; }, 10s));
    }
    REQUIRE(proxy.server().stats().spliced == 1);
    const linger abort{1, 0};
    ::setsockopt(c->fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    c.reset();  // closed with a reset
    CHECK(origin.wait_end(10s) == ECONNRESET);
  }

  TEST_CASE("a tunnel the proxy ends itself (idle, stop) is reset, never ended as if complete") {
    InProcessProxy proxy({.idle_timeout = 1s});
    HoldingOrigin origin("HTTP/1.1 200 OK\r\n\r\npart");  // close-delimited, cut short
    const std::string endpoint =
        proxy.listen_tcp({.allowed = {"origin.test:" + std::to_string(origin.port()) + "/plain"},
                          .include_essential = false,
                          .pins = {pin("origin.test")}});
    proxy.start();
    Client c(endpoint);
    REQUIRE(status_of(connect_through(c, "origin.test:" + std::to_string(origin.port()))) == 200);
    // Read before the cut: a reset discards what the client has not read.
    CHECK(c.read_until("part").ends_with("part"));
    std::string rest;
    CHECK(read_until_end(c, rest) == ECONNRESET);  // after the idle timeout
    CHECK(origin.wait_end(10s) == ECONNRESET);

    InProcessProxy stopping;  // no stop grace: tunnels are cut at once
    HoldingOrigin second("HTTP/1.1 200 OK\r\n\r\npart");
    const std::string stop_endpoint =
        stopping.listen_tcp({.allowed = {"origin.test:" + std::to_string(second.port()) + "/plain"},
                             .include_essential = false,
                             .pins = {pin("origin.test")}});
    stopping.start();
    Client s(stop_endpoint);
    REQUIRE(status_of(connect_through(s, "origin.test:" + std::to_string(second.port()))) == 200);
    CHECK(s.read_until("part").ends_with("part"));
    stopping.server().stop();
    CHECK(read_until_end(s, rest) == ECONNRESET);
    CHECK(second.wait_end(10s) == ECONNRESET);
  }

  TEST_CASE("curl reaches an allowed HTTPS server with -x, --proxy and HTTPS_PROXY") {
    World w;
    const std::string url = w.url("allowed.test", w.https.port(), "/hello");
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"-x", w.proxy_url(), "--cacert", w.certs.cert(), url},
             {"--proxy", w.proxy_url(), "--cacert", w.certs.cert(), url}}) {
      const Completed r = curl(args);
      CHECK_MESSAGE(r.exit_code == 0, r.err);
      CHECK(r.out == "hello");
    }
    const Completed env = curl({"--cacert", w.certs.cert(), url}, {"HTTPS_PROXY=" + w.proxy_url()});
    CHECK_MESSAGE(env.exit_code == 0, env.err);
    CHECK(env.out == "hello");
    const std::string line = wait_for_log(w.log(), {"\"decision\":\"allow\"", "allowed.test"});
    REQUIRE_FALSE(line.empty());
    CHECK(line.find("\"address\":\"127.0.0.1\"") != std::string::npos);
    CHECK(line.find("\"session\":\"test\"") != std::string::npos);
  }

  TEST_CASE("a denied HTTPS host gets 403 with a reason, and a log line says why") {
    World w;
    const Completed r = curl({"-v", "-x", w.proxy_url(), "--cacert", w.certs.cert(),
                              w.url("evil.test", w.https.port(), "/hello")});
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("403") != std::string::npos);
    Client c(w.endpoint);
    const std::string reply = connect_through(c, "evil.test:" + std::to_string(w.https.port()));
    CHECK(status_of(reply) == 403);
    CHECK(reply.find("evil.test is not on the allow list\n") != std::string::npos);
    const std::string line =
        wait_for_log(w.log(), {"\"decision\":\"deny\"", "evil.test", "\"status\":403"});
    CHECK(line.find("not on the allow list") != std::string::npos);
  }

  TEST_CASE("100 MB download and upload through an HTTPS tunnel arrive byte-exact") {
    World w;
    TempDir dir;
    constexpr uint64_t kSize = 100'000'000;
    const std::string file = dir / "down.bin";
    const Completed down =
        curl({"-x", w.proxy_url(), "--cacert", w.certs.cert(), "-o", file,
              w.url("allowed.test", w.https.port(), "/bytes/" + std::to_string(kSize))},
             {}, 120s);
    REQUIRE_MESSAGE(down.exit_code == 0, down.err);
    CHECK(file_sha256(file) == pattern_sha256(kSize));
    const Completed up = curl({"-x", w.proxy_url(), "--cacert", w.certs.cert(), "-T", file,
                               w.url("allowed.test", w.https.port(), "/sha256")},
                              {}, 120s);
    REQUIRE_MESSAGE(up.exit_code == 0, up.err);
    CHECK(up.out == pattern_sha256(kSize));
    // Both tunnels are logged with their byte counts (TLS adds a little).
    REQUIRE(wait_until([&] { return log_lines(w.log()).size() == 2; }));
    const auto down_line = nlohmann::json::parse(log_lines(w.log())[0]);
    const auto up_line = nlohmann::json::parse(log_lines(w.log())[1]);
    CHECK(down_line["bytes_down"].get<uint64_t>() > kSize);
    CHECK(up_line["bytes_up"].get<uint64_t>() > kSize);
    CHECK(up_line["bytes_up"].get<uint64_t>() < kSize + kSize / 100);
  }

  TEST_CASE("a raw tunnel carries 100 MB each way byte-exact and passes a half-close on") {
    for (const bool splice : {true, false}) {  // zero-copy relaying, then the copy path
      CAPTURE(splice);
      EchoTunnel t({.splice = splice});
      Client& c = t.client;
      constexpr size_t kSize = 100'000'000;
      std::string echoed;
      std::thread writer([&] {
        for (size_t off = 0; off < kSize; off += 1 << 20)
          c.send(pattern(std::min<size_t>(1 << 20, kSize - off), off));
        c.shutdown_write();  // half-close: the echo server answers with EOF after the echo
      });
      const bool eof = c.read_to_eof(&echoed, 120s);
      writer.join();
      CHECK(eof);
      CHECK(echoed.size() == kSize);
      CHECK(sha256_hex(echoed) == pattern_sha256(kSize));
      const std::string line = wait_for_log(t.proxy.log_path("test"),
                                            {"\"bytes_up\":100000000", "\"bytes_down\":100000000"});
      CHECK_FALSE(line.empty());
      CHECK((t.proxy.server().stats().spliced == 1) ==
            splice);  // the bulk tunnel moved to splice(2)
    }
  }

  TEST_CASE("a short tunnel stays on the copy path; idle tunnels hold no pipes") {
    EchoTunnel t;
    Client& c = t.client;
    for (int i = 0; i < 10; ++i) {
      c.send(pattern(1000, i * 1000));
      CHECK(c.read_exactly(1000) == pattern(1000, i * 1000));
    }
    CHECK(t.proxy.server().stats().spliced == 0);
    c.send(pattern(1 << 20));  // now a bulk transfer
    CHECK(c.read_exactly(1 << 20) == pattern(1 << 20));
    CHECK(t.proxy.server().stats().spliced == 1);
    c.send("after the switch");
    CHECK(c.read_exactly(16) == "after the switch");
  }

  TEST_CASE("openssl s_client connects through the proxy with the right server name only") {
    World w;
    const std::string target = "allowed.test:" + std::to_string(w.https.port());
    auto s_client = [&](std::vector<std::string> extra) {
      std::vector<std::string> argv = {"openssl",  "s_client",     "-proxy",
                                       w.endpoint, "-connect",     target,
                                       "-CAfile",  w.certs.cert(), "-verify_return_error",
                                       "-quiet"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      return run_cmd(argv, {"PATH=/usr/bin:/bin"}, "/",
                     "GET /hello HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n", 30s);
    };
    const Completed ok = s_client({"-servername", "allowed.test"});
    CHECK_MESSAGE(ok.out.find("hello") != std::string::npos, ok.err);
    const Completed wrong = s_client({"-servername", "evil.test"});
    CHECK(wrong.out.find("hello") == std::string::npos);
    CHECK_FALSE(wait_for_log(w.log(),
                             {"server name evil.test does not match the CONNECT host allowed.test"})
                    .empty());
    const Completed none = s_client({"-noservername"});
    CHECK(none.out.find("hello") == std::string::npos);
    CHECK_FALSE(wait_for_log(w.log(), {"has no server name (SNI)"}).empty());
  }

  TEST_CASE("plain HTTP requests are forwarded in origin form, hop-by-hop headers removed") {
    World w;
    const std::string url = w.url("allowed.test", w.http.port(), "/path?x=1", "http");
    const Completed r = curl(
        {"-x", w.proxy_url(), "-H", "X-Keep: 1", "-H", "Proxy-Authorization: Basic c2VjcmV0", url});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out == "seen /path\n");
    REQUIRE(w.http.requests().size() == 1);
    CHECK(w.http.requests()[0] == "GET /path?x=1");
    bool keep = false, auth = false;
    std::string host, connection;
    for (const auto& [k, v] : w.http.last_headers()) {
      keep = keep || k == "X-Keep";
      auth = auth || k == "Proxy-Authorization";
      if (k == "Host") host = v;
      if (k == "Connection") connection = v;
    }
    CHECK(keep);
    CHECK_FALSE(auth);
    CHECK(host == "allowed.test:" + std::to_string(w.http.port()));
    CHECK(connection == "close");
    const Completed env = curl({url}, {"http_proxy=" + w.proxy_url()});
    CHECK(env.out == "seen /path\n");
    const Completed denied = curl({"-x", w.proxy_url(), "-w", "%{http_code}", "-o", "/dev/null",
                                   w.url("evil.test", w.http.port(), "/", "http")});
    CHECK(denied.out == "403");
    CHECK(w.http.requests().size() == 2);  // the denied request never reached the server
  }

  TEST_CASE("each refusal has its status and a one-line reason") {
    TcpServer silent(TcpServer::Mode::silent);
    // Fill the silent server's accept queue so the next SYN is dropped and a
    // connect hangs: a real unanswered destination, for the 504.
    int backlog_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(backlog_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(backlog_fd, 0) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(backlog_fd, reinterpret_cast<sockaddr*>(&sa), &len);
    const uint16_t hang_port = ntohs(sa.sin_port);
    std::vector<Fd> fillers;  // non-blocking: once the queue is full their SYNs go unanswered too
    for (int i = 0; i < 3; ++i) {
      fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      ::connect(fillers.back().get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    std::this_thread::sleep_for(100ms);
    const uint16_t closed_port = [] {
      TcpServer gone;
      return gone.port();
    }();

    InProcessProxy proxy({.connect_timeout = 1s});
    auto policy = proxy::build_policy({.allowed = {"hang.test:" + std::to_string(hang_port),
                                                   "closed.test:" + std::to_string(closed_port)},
                                       .include_essential = false,
                                       .pins = {pin("hang.test"), pin("closed.test")}});
    REQUIRE(policy);
    TempDir dir;
    const std::string auth_ep = proxy.listen({.session = "auth",
                                              .endpoint = "127.0.0.1:0",
                                              .policy = *policy,
                                              .log_path = dir / "auth.jsonl",
                                              .basic_auth = "user:pa55"});
    const std::string ep = proxy.listen({.session = "s",
                                         .endpoint = "127.0.0.1:0",
                                         .policy = *policy,
                                         .log_path = dir / "s.jsonl"});
    proxy.start();

    struct Row {
      std::string request;
      int status;
      std::string reason;
    };
    const std::string hang = "hang.test:" + std::to_string(hang_port);
    const std::string closed = "closed.test:" + std::to_string(closed_port);
    for (const Row& r : std::vector<Row>{
             {"CONNECT nothing\r\n\r\n", 400, "malformed request line"},
             {"TRACE http://hang.test/ HTTP/1.1\r\n\r\n", 405, "method TRACE is not supported"},
             {"CONNECT other.test:443 HTTP/1.1\r\n\r\n", 403,
              "other.test is not on the allow list"},
             {"CONNECT " + closed + " HTTP/1.1\r\n\r\n", 502, "cannot connect to " + closed},
             {"CONNECT " + hang + " HTTP/1.1\r\n\r\n", 504, hang + " did not answer within 1 s"}}) {
      CAPTURE(r.request);
      Client c(ep);
      c.send(r.request);
      std::string reply;
      CHECK(c.read_to_eof(&reply, 10s));
      CHECK(status_of(reply) == r.status);
      const size_t body = reply.find("\r\n\r\n");
      REQUIRE(body != std::string::npos);
      const std::string text = reply.substr(body + 4);
      CHECK(text.find(r.reason) == 0);
      CHECK(text.find('\n') == text.size() - 1);  // exactly one line
    }
    // 407 where auth is configured: missing or wrong credentials, then right ones.
    for (const std::string& header :
         {std::string(""), std::string("Proxy-Authorization: Basic dXNlcjpub3Bl\r\n")}) {
      Client c(auth_ep);
      const std::string reply = connect_through(c, "other.test:443", header);
      CHECK(status_of(reply) == 407);
      CHECK(reply.find("Proxy-Authenticate: Basic realm=\"para\"") != std::string::npos);
    }
    Client ok(auth_ep);
    CHECK(status_of(connect_through(ok, "other.test:443",
                                    "Proxy-Authorization: Basic dXNlcjpwYTU1\r\n")) == 403);
    const Completed with_curl = curl({"-x", "http://" + auth_ep, "--proxy-user", "user:pa55", "-w",
                                      "%{http_code}", "-o", "/dev/null", "http://other.test/"});
    CHECK(with_curl.out == "403");  // authenticated, then refused by the policy
    CHECK(read_text(dir / "auth.jsonl").find("pa55") == std::string::npos);  // secrets never logged
    ::close(backlog_fd);
  }

  TEST_CASE("para proxy runs from the command line, logs to --log and stops on SIGTERM") {
    Certs certs;
    HttpsServer https(certs);
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(https.port()),
                    "--resolve", pin("allowed.test"), "--session", "cli"});
    CHECK(p.stderr_text().find("export HTTPS_PROXY=http://127.0.0.1:") != std::string::npos);
    const Completed r = curl({"-x", "http://" + p.endpoint(), "--cacert", certs.cert(),
                              "https://allowed.test:" + std::to_string(https.port()) + "/hello"});
    CHECK_MESSAGE(r.exit_code == 0, r.err << p.stderr_text());
    CHECK(r.out == "hello");
    CHECK(p.terminate() == 0);
    const auto decisions = proxy::read_decisions(p.log_path(), 10);
    REQUIRE(decisions);
    REQUIRE(decisions->size() == 1);
    CHECK((*decisions)[0]["session"] == "cli");
    CHECK((*decisions)[0]["decision"] == "allow");
  }

  TEST_CASE("para proxy refuses bad policy entries and endpoints with a clear error") {
    struct Row {
      std::vector<std::string> args;
      std::string says;
    };
    for (const Row& r : std::vector<Row>{
             {{"--allowed-domains", "*.com"}, "allowed domain '*.com': com is a public suffix"},
             {{"--allowed-domains", "*"}, "'*' would allow every host"},
             {{"--resolve", "nonsense"}, "pin 'nonsense'"},
             {{"--listen", "0.0.0.0:0"}, "loopback only"},
             {{"--port", "99999"}, "not a port number"},
             {{"--idle-timeout", "soon"}, "not a number of seconds"}}) {
      CAPTURE(r.says);
      std::vector<std::string> argv = {built_binary("para"), "proxy"};
      argv.insert(argv.end(), r.args.begin(), r.args.end());
      const Completed c = run_cmd(argv, {}, "/", "", 10s);
      CHECK(c.exit_code == 1);
      CHECK(c.err.find(r.says) != std::string::npos);
    }
  }

  TEST_CASE("a Unix-socket listener is created 0600 in a 0700 directory and serves clients") {
    TempDir dir;
    TcpServer echo;
    InProcessProxy proxy;
    auto policy =
        proxy::build_policy({.allowed = {"allowed.test:" + std::to_string(echo.port()) + "/plain"},
                             .include_essential = false,
                             .pins = {pin("allowed.test")}});
    REQUIRE(policy);
    const std::string path = dir / "run/session/proxy.sock";
    CHECK(proxy.listen({.session = "s",
                        .endpoint = "unix:" + path,
                        .policy = *policy,
                        .log_path = dir / "s.jsonl"}) == "unix:" + path);
    proxy.start();
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((dir / "run/session").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    Client c("unix:" + path);
    REQUIRE(status_of(connect_through(c, "allowed.test:" + std::to_string(echo.port()))) == 200);
    c.send("ping");
    CHECK(c.read_exactly(4) == "ping");
    // A second listener on the same live socket is refused.
    proxy::Server other;
    const auto again = other.listen({.endpoint = "unix:" + path, .policy = *policy});
    REQUIRE_FALSE(again);
    CHECK(again.error().message.find("another process is listening") != std::string::npos);
  }
}
