// Must-show 3: two listeners with different allowlists in one process never
// grant each other's permissions, under concurrent load. ~5 s.

#include <doctest/doctest.h>

#include <atomic>

#include "tests/integration/proxy/fixtures.h"

using namespace para;
using namespace para::test;
using namespace std::chrono_literals;

TEST_SUITE("proxy/listeners") {
  TEST_CASE("two listeners with different allowlists never grant each other's hosts under load") {
    TcpServer echo;
    const std::string port = std::to_string(echo.port());
    InProcessProxy proxy;
    const std::vector<std::string> pins = {"a.test:127.0.0.1", "b.test:127.0.0.1"};
    const std::string a = proxy.listen_tcp(
        {.allowed = {"a.test:" + port + "/plain"}, .include_essential = false, .pins = pins},
        "session-a");
    const std::string b = proxy.listen_tcp(
        {.allowed = {"b.test:" + port + "/plain"}, .include_essential = false, .pins = pins},
        "session-b");
    proxy.start();

    constexpr int kThreads = 8, kPerThread = 150;
    std::atomic<int> wrong{0}, served{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const bool via_a = (t + i) % 2 == 0;
          const bool ask_own = i % 3 != 0;
          const std::string host = (via_a == ask_own) ? "a.test" : "b.test";
          Client c(via_a ? a : b);
          const int status = status_of(connect_through(c, host + ":" + port));
          bool ok = false;
          if (ask_own) {
            const std::string msg = "hello " + std::to_string(t * 1000 + i);
            ok = status == 200 && c.send(msg) && c.read_exactly(msg.size()) == msg;
            if (ok) ++served;
          } else {
            ok = status == 403;
            if (ok) ++refused;
          }
          if (!ok) ++wrong;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    CHECK(wrong == 0);
    CHECK(served == kThreads * kPerThread * 2 / 3);
    CHECK(refused == kThreads * kPerThread / 3);

    // Every decision is in its own listener's log, naming its own session.
    for (const char* session : {"session-a", "session-b"}) {
      CAPTURE(session);
      const char own = session[8];
      REQUIRE(wait_until(
          [&] { return log_lines(proxy.log_path(session)).size() == kThreads * kPerThread / 2; }));
      for (const std::string& line : log_lines(proxy.log_path(session))) {
        CHECK(line.find(std::string("\"session\":\"") + session + "\"") != std::string::npos);
        const bool allowed = line.find("\"decision\":\"allow\"") != std::string::npos;
        const bool own_host =
            line.find(std::string("\"host\":\"") + own + ".test\"") != std::string::npos;
        CHECK(allowed == own_host);
      }
    }
  }
}
