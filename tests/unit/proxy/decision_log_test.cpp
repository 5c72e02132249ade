#include "proxy/decision_log.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/support.h"

using namespace para::proxy;
using para::test::TempDir;

namespace {
DecisionRecord record(int i) {
  DecisionRecord r;
  r.time = std::chrono::system_clock::now();
  r.session = "s1";
  r.listener = "unix:/x";
  r.method = "CONNECT";
  r.host = "h" + std::to_string(i) + ".test";
  r.port = 443;
  r.decision = i % 2 ? "deny" : "allow";
  r.status = i % 2 ? 403 : 200;
  r.reason = "because";
  r.bytes_up = 10;
  r.bytes_down = 20;
  r.duration_ms = 1.5;
  return r;
}
}  // namespace

TEST_SUITE("proxy/decision_log") {
  TEST_CASE("records are written as one JSON line each and read back, last N oldest first") {
    TempDir dir;
    const std::string path = dir / "logs/net.jsonl";
    auto log = DecisionLog::open_file(path);
    REQUIRE(log);
    for (int i = 0; i < 5; ++i) (*log)->write(record(i));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const auto all = read_decisions(path, 100);
    REQUIRE(all);
    REQUIRE(all->size() == 5);
    const auto last = read_decisions(path, 2);
    REQUIRE(last);
    REQUIRE(last->size() == 2);
    CHECK((*last)[0]["host"] == "h3.test");
    CHECK((*last)[1]["host"] == "h4.test");
    for (const char* key :
         {"time", "session", "listener", "method", "host", "port", "address", "decision", "status",
          "reason", "bytes_up", "bytes_down", "duration_ms"}) {
      CAPTURE(key);
      CHECK((*last)[1].contains(key));
    }
    CHECK((*last)[1]["bytes_down"] == 20);
  }

  TEST_CASE("the tail of a large log is read without the whole file, torn lines skipped") {
    TempDir dir;
    const std::string path = dir / "net.jsonl";
    {
      auto log = DecisionLog::open_file(path);
      REQUIRE(log);
      for (int i = 0; i < 3000; ++i) (*log)->write(record(i));
    }
    para::test::write_text(path, para::test::read_text(path) + "{\"torn\": ");
    const auto last = read_decisions(path, 3);
    REQUIRE(last);
    REQUIRE(last->size() == 3);
    CHECK((*last)[2]["host"] == "h2999.test");
  }

  TEST_CASE("a missing log is not_found") {
    TempDir dir;
    const auto r = read_decisions(dir / "none.jsonl", 10);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == para::Errc::not_found);
  }
}
