#include "mcp/sse_stream.h"

#include <doctest/doctest.h>

#include <thread>

namespace para::mcp {

using namespace std::chrono_literals;
using Kind = SseStream::Next::Kind;

TEST_SUITE("mcp/sse_stream") {
  TEST_CASE("events come in order, then the end of a finished stream") {
    SseStream s(3);
    s.push("a");
    s.push("b");
    s.finish();
    s.push("ignored after finish");
    auto n = s.next(0, 10ms);
    CHECK(n.kind == Kind::event);
    CHECK(n.seq == 1);
    CHECK(n.data == "a");
    CHECK(s.next(1, 10ms).data == "b");
    CHECK(s.next(2, 10ms).kind == Kind::end);
    CHECK_FALSE(s.complete());
    s.delivered(2);
    CHECK(s.complete());
    CHECK(s.event_id(2) == "3-2");
  }

  TEST_CASE("a resumed connection replays from its Last-Event-ID") {
    SseStream s(1);
    for (const char* d : {"a", "b", "c"}) s.push(d);
    s.delivered(3);
    const auto id = SseStream::parse_event_id(s.event_id(1));
    REQUIRE(id);
    CHECK(id->first == 1);
    CHECK(s.next(id->second, 10ms).data == "b");
  }

  TEST_CASE("drop_connection ends the current connection once and keeps the messages") {
    SseStream s(1);
    s.drop_connection();
    s.push("kept");
    CHECK(s.next(0, 10ms).kind == Kind::dropped);
    CHECK(s.next(0, 10ms).data == "kept");
  }

  TEST_CASE("only one connection is attached at a time") {
    SseStream s(0);
    CHECK(s.attach());
    CHECK_FALSE(s.attach());
    s.detach();
    CHECK(s.attach());
  }

  TEST_CASE("a waiting connection wakes when a message arrives") {
    SseStream s(0);
    std::thread producer([&] {
      std::this_thread::sleep_for(20ms);
      s.push("late");
    });
    const auto n = s.next(0, 5s);
    producer.join();
    CHECK(n.kind == Kind::event);
    CHECK(s.next(1, 10ms).kind == Kind::idle);
  }

  TEST_CASE("an unread stream keeps a bounded number of messages") {
    SseStream s(0, 5);
    for (int i = 0; i < 20; ++i) s.push(std::to_string(i));
    const auto n = s.next(0, 10ms);
    CHECK(n.data == "15");  // the oldest were dropped
  }

  TEST_CASE("malformed event ids are refused") {
    for (const char* id : {"", "1", "-1", "1-", "a-1", "1-b", "99999999999999999999-1"}) {
      CAPTURE(id);
      CHECK_FALSE(SseStream::parse_event_id(id));
    }
  }
}

}  // namespace para::mcp
