// Must-show 4: load and abuse against the `para proxy` binary, bounded in
// count and time. Legitimate clients keep being served, the proxy's memory
// stays bounded, nothing crashes (under ASan/UBSan too, in build-asan).
// Costs, normal build: 5,000 tunnels ~5 s, slowloris ~4 s, 100,000 heads
// ~20 s, backpressure ~5 s, timeouts and stop ~8 s.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <random>

#include "core/process.h"
#include "tests/integration/proxy/fixtures.h"

using namespace para;
using namespace para::test;
using namespace std::chrono_literals;

namespace {

// Under ASan freed memory sits in a quarantine (256 MiB by default) and every
// byte has shadow memory, so RSS bounds get that much slack there; the
// normal build checks the real bounds.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kSanitizerSlackKib = 640 * 1024;
#else
constexpr uint64_t kSanitizerSlackKib = 0;
#endif

// A legitimate client: curl through the proxy to the HTTPS server.
bool legit_request(const std::string& proxy, const Certs& certs, uint16_t port) {
  const Completed r = curl({"--max-time", "10", "-x", "http://" + proxy, "--cacert", certs.cert(),
                            "https://allowed.test:" + std::to_string(port) + "/hello"});
  return r.exit_code == 0 && r.out == "hello";
}

}  // namespace

TEST_SUITE("proxy/load") {
  TEST_CASE("5,000 concurrent TLS-port tunnels all carry data, and memory stays bounded") {
    proxy::raise_open_file_limit();
    Certs certs;
    HttpsServer https(certs);
    TcpServer echo;
    ProxyProcess p({"--allowed-domains",
                    "allowed.test:" + std::to_string(echo.port()) +
                        ",allowed.test:" + std::to_string(https.port()),
                    "--resolve", "allowed.test:127.0.0.1", "--no-essential-domains"});
    const uint64_t rss_before = p.rss_kib();
    constexpr int kTunnels = 5000;
    const std::string hello = client_hello("allowed.test");
    const std::string connect =
        "CONNECT allowed.test:" + std::to_string(echo.port()) + " HTTP/1.1\r\n\r\n";
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kTunnels; ++i) {
      clients.push_back(std::make_unique<Client>(p.endpoint()));
      REQUIRE(clients.back()->connected());
      clients.back()->send(connect);
    }
    int established = 0, echoed = 0;
    for (auto& c : clients) established += status_of(c->read_until("\r\n\r\n", 10s)) == 200;
    CHECK(established == kTunnels);
    for (int i = 0; i < kTunnels; ++i) clients[i]->send(hello + "tunnel " + std::to_string(i));
    CHECK(legit_request(p.endpoint(), certs, https.port()));  // served while 5,000 tunnels are open
    for (int i = 0; i < kTunnels; ++i) {
      const std::string want = hello + "tunnel " + std::to_string(i);
      echoed += clients[i]->read_exactly(want.size(), 10s) == want;
    }
    CHECK(echoed == kTunnels);
    const uint64_t rss_open = p.rss_kib();
    MESSAGE("proxy RSS: " << rss_before << " KiB idle, " << rss_open << " KiB with " << kTunnels
                          << " open tunnels, peak " << p.peak_rss_kib() << " KiB");
    CHECK(p.peak_rss_kib() < 128 * 1024 + kSanitizerSlackKib);
    clients.clear();
    CHECK(wait_until([&] { return log_lines(p.log_path()).size() >= kTunnels + 1; }, 20s));
    CHECK(p.terminate() == 0);
  }

  TEST_CASE("1,000 slowloris clients are cut at the head timeout while others are served") {
    proxy::raise_open_file_limit();
    Certs certs;
    HttpsServer https(certs);
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(https.port()),
                    "--resolve", "allowed.test:127.0.0.1", "--head-timeout", "2"});
    std::vector<std::unique_ptr<Client>> slow;
    for (int i = 0; i < 1000; ++i) {
      slow.push_back(std::make_unique<Client>(p.endpoint()));
      REQUIRE(slow.back()->connected());
      slow.back()->send("CONNECT allowed.test:");  // and never the rest
    }
    std::atomic<bool> dripping{true};
    std::thread drip([&] {  // 50 of them keep sending one byte at a time
      for (int round = 0; dripping && round < 40; ++round) {
        for (int i = 0; i < 50; ++i) slow[i]->send("4");
        std::this_thread::sleep_for(100ms);
      }
    });
    for (int i = 0; i < 10; ++i) CHECK(legit_request(p.endpoint(), certs, https.port()));
    const auto start = std::chrono::steady_clock::now();
    int cut = 0;
    for (auto& c : slow) cut += c->read_to_eof(nullptr, 6s);
    dripping = false;
    drip.join();
    CHECK(cut == 1000);
    CHECK(std::chrono::steady_clock::now() - start < 6s);
    CHECK(wait_until([&] {
      int n = 0;
      for (const std::string& l : log_lines(p.log_path()))
        n += l.find("no complete request head within 2 s") != std::string::npos;
      return n == 1000;
    }));
    CHECK(legit_request(p.endpoint(), certs, https.port()));
    CHECK(p.terminate() == 0);
  }

  TEST_CASE("100,000 malformed or random heads are refused; legitimate clients keep being served") {
    proxy::raise_open_file_limit();
    Certs certs;
    HttpsServer https(certs);
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(https.port()),
                    "--resolve", "allowed.test:127.0.0.1", "--head-timeout", "2"});
    constexpr int kThreads = 4, kPerThread = 25'000;
    const std::string valid = "CONNECT allowed.test:" + std::to_string(https.port()) +
                              " HTTP/1.1\r\nHost: allowed.test\r\nUser-Agent: x\r\n\r\n";
    std::atomic<int> answered{0}, failures{0};
    std::atomic<bool> flooding{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(1234 + t);
        auto byte = [&] { return static_cast<char>(rng() & 0xff); };
        for (int i = 0; i < kPerThread; ++i) {
          std::string head;
          switch (i % 6) {
            case 0:  // random bytes
              head.resize(1 + rng() % 600);
              for (char& ch : head) ch = byte();
              break;
            case 1:  // a valid head with bytes flipped
              head = valid.substr(0, valid.size() - 4);
              for (int k = 0; k < 3; ++k) head[rng() % head.size()] = byte();
              break;
            case 2:  // random printable host
              head = "CONNECT ";
              for (unsigned k = 0; k < 1 + rng() % 40; ++k)
                head += static_cast<char>(33 + rng() % 94);
              head += ":443 HTTP/1.1";
              break;
            case 3:  // oversized head
              head = "GET http://allowed.test/ HTTP/1.1\r\nX: " + std::string(20000, 'a');
              break;
            case 4:  // denied host
              head = "CONNECT denied" + std::to_string(i) + ".test:443 HTTP/1.1";
              break;
            default:  // a printable garbage request line
              head.resize(1 + rng() % 100);
              for (char& ch : head) ch = static_cast<char>(32 + rng() % 95);
          }
          // Every head ends the way a head ends, so the proxy answers and
          // closes first (the client side then leaves no TIME_WAIT behind).
          head += "\r\n\r\n";
          Client c(p.endpoint());
          if (!c.connected()) {
            ++failures;
            continue;
          }
          c.send(head);
          std::string reply = c.read_until("\r\n\r\n", 5s);
          if (status_of(reply) == 200) {  // a flip that left a valid CONNECT
            ++answered;
            continue;
          }
          if (!c.read_to_eof(&reply, 5s)) {
            ++failures;
          } else if (!reply.empty()) {
            ++answered;
          }
        }
      });
    }
    int legit_ok = 0, legit_total = 0;
    std::thread legit([&] {
      while (flooding) {
        ++legit_total;
        legit_ok += legit_request(p.endpoint(), certs, https.port());
        std::this_thread::sleep_for(200ms);
      }
    });
    for (std::thread& t : threads) t.join();
    flooding = false;
    legit.join();
    CHECK(failures == 0);
    MESSAGE(answered.load() << " of " << kThreads * kPerThread
                            << " heads got an HTTP error reply; legitimate " << legit_ok << "/"
                            << legit_total << "; proxy peak RSS " << p.peak_rss_kib() << " KiB");
    CHECK(answered > kThreads * kPerThread / 2);
    CHECK(legit_total > 0);
    CHECK(legit_ok == legit_total);
    CHECK(p.peak_rss_kib() < 96 * 1024 + kSanitizerSlackKib);
    CHECK(process_exists(p.pid()));
    CHECK(p.terminate() == 0);
  }

  TEST_CASE("a slow reader and a slow writer do not make the proxy's memory grow") {
    for (const bool splice : {true, false}) {  // zero-copy relaying, then the copy path
      CAPTURE(splice);
      TcpServer source(TcpServer::Mode::source, 200'000'000);
      TcpServer silent(TcpServer::Mode::silent);
      std::vector<std::string> args = {"--allowed-domains",
                                       "allowed.test:" + std::to_string(source.port()) +
                                           "/plain,allowed.test:" + std::to_string(silent.port()) +
                                           "/plain",
                                       "--resolve", "allowed.test:127.0.0.1"};
      if (!splice) args.push_back("--no-splice");
      ProxyProcess p(args);
      const uint64_t before = p.rss_kib();
      // Slow reader: the server pushes 200 MB, the client reads nothing for 2 s.
      Client reader(p.endpoint());
      REQUIRE(status_of(connect_through(reader, "allowed.test:" + std::to_string(source.port()))) ==
              200);
      std::this_thread::sleep_for(2s);
      const uint64_t stalled_reader = p.rss_kib();
      // Slow writer's peer: the client pushes into a server that never reads.
      Client writer(p.endpoint());
      REQUIRE(status_of(connect_through(writer, "allowed.test:" + std::to_string(silent.port()))) ==
              200);
      ::fcntl(writer.fd(), F_SETFL, O_NONBLOCK);
      const std::string chunk = pattern(1 << 16);
      uint64_t pushed = 0;
      const auto until = std::chrono::steady_clock::now() + 2s;
      while (std::chrono::steady_clock::now() < until) {
        const ssize_t n = ::send(writer.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0)
          pushed += static_cast<uint64_t>(n);
        else
          std::this_thread::sleep_for(5ms);
      }
      const uint64_t stalled_writer = p.rss_kib();
      MESSAGE("proxy RSS " << before << " KiB before, " << stalled_reader
                           << " with a stalled reader, " << stalled_writer
                           << " with a stalled writer (" << pushed << " bytes accepted)");
      CHECK(stalled_reader < before + 16 * 1024 + kSanitizerSlackKib / 16);
      CHECK(stalled_writer < before + 16 * 1024 + kSanitizerSlackKib / 16);
      CHECK(pushed < 64ull << 20);  // the kernel buffers filled, then the proxy stopped reading
      // The slow reader then gets every byte, in order.
      uint64_t got = 0;
      std::string wrong;
      while (got < 200'000'000) {
        const std::string part = reader.read_some(10s);
        if (part.empty()) break;
        if (wrong.empty() && part != pattern(part.size(), got)) {
          const std::string want = pattern(part.size(), got);
          size_t at = 0;
          while (at < part.size() && part[at] == want[at]) ++at;
          wrong = "pattern mismatch at byte " + std::to_string(got + at) + " of a read of " +
                  std::to_string(part.size()) + " at " + std::to_string(got);
        }
        got += part.size();
      }
      CHECK(got == 200'000'000);
      CHECK_MESSAGE(wrong.empty(), wrong);
      CHECK(p.terminate() == 0);
    }
  }

  TEST_CASE("the idle timeout cuts a silent tunnel but never one that moves data") {
    TcpServer echo;
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(echo.port()) + "/plain",
                    "--resolve", "allowed.test:127.0.0.1", "--idle-timeout", "1"});
    const std::string target = "allowed.test:" + std::to_string(echo.port());
    Client quiet(p.endpoint()), busy(p.endpoint());
    REQUIRE(status_of(connect_through(quiet, target)) == 200);
    REQUIRE(status_of(connect_through(busy, target)) == 200);
    for (int i = 0; i < 10; ++i) {  // 3 s of a byte every 300 ms
      REQUIRE(busy.send("x"));
      REQUIRE(busy.read_exactly(1, 2s) == "x");
      std::this_thread::sleep_for(300ms);
    }
    CHECK(quiet.read_to_eof(nullptr, 1s));  // long gone
    busy.send("still here");
    CHECK(busy.read_exactly(10) == "still here");
    CHECK_FALSE(wait_for_log(p.log_path(), {"closed after 1 s without traffic"}).empty());
    CHECK(p.terminate() == 0);
  }

  TEST_CASE("SIGTERM lets open tunnels finish within the grace period, then closes the rest") {
    TcpServer echo;
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(echo.port()) + "/plain",
                    "--resolve", "allowed.test:127.0.0.1", "--stop-grace", "2"});
    const std::string target = "allowed.test:" + std::to_string(echo.port());
    Client finishing(p.endpoint()), lingering(p.endpoint()), fresh_head(p.endpoint());
    REQUIRE(status_of(connect_through(finishing, target)) == 200);
    REQUIRE(status_of(connect_through(lingering, target)) == 200);
    p.signal(SIGTERM);
    CHECK(fresh_head.read_to_eof(nullptr, 2s));  // not yet a tunnel: closed at once
    finishing.send("last words");
    CHECK(finishing.read_exactly(10) == "last words");  // tunnels still work during the grace
    finishing.shutdown_write();
    CHECK(finishing.read_to_eof(nullptr, 2s));
    CHECK(lingering.read_to_eof(nullptr, 5s));  // cut when the grace ran out
    CHECK(p.wait_exit(10s) == 0);
    CHECK_FALSE(wait_for_log(p.log_path(), {"\"bytes_up\":10", "\"bytes_down\":10"}).empty());
    CHECK_FALSE(wait_for_log(p.log_path(), {"closed when the proxy stopped"}).empty());
  }

  TEST_CASE("connections beyond --max-connections are closed at accept; capacity comes back") {
    TcpServer echo;
    ProxyProcess p({"--allowed-domains", "allowed.test:" + std::to_string(echo.port()) + "/plain",
                    "--resolve", "allowed.test:127.0.0.1", "--max-connections", "5"});
    std::vector<std::unique_ptr<Client>> held;
    for (int i = 0; i < 5; ++i) {
      held.push_back(std::make_unique<Client>(p.endpoint()));
      REQUIRE(status_of(connect_through(*held.back(),
                                        "allowed.test:" + std::to_string(echo.port()))) == 200);
    }
    Client over(p.endpoint());
    CHECK(over.read_to_eof(nullptr, 2s));
    held.pop_back();
    std::this_thread::sleep_for(200ms);
    Client again(p.endpoint());
    CHECK(status_of(connect_through(again, "allowed.test:" + std::to_string(echo.port()))) == 200);
    CHECK(p.terminate() == 0);
  }
}
