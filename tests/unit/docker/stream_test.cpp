#include "docker/stream.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace para::docker {
namespace {

std::string frame(int kind, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(kind);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

}  // namespace

TEST_SUITE("docker/stream") {
  TEST_CASE("frames are split into stdout and stderr whatever the chunking") {
    const std::string wire = frame(1, "out line\n") + frame(2, "err\n") + frame(1, "") +
                             frame(1, std::string(70000, 'x'));
    for (size_t chunk : {size_t(1), size_t(3), size_t(8), size_t(9), size_t(4096), wire.size()}) {
      CAPTURE(chunk);
      std::string out, err;
      FrameDemuxer d([&](StreamKind k, std::string_view b) {
        (k == StreamKind::stderr_stream ? err : out).append(b);
        return true;
      });
      for (size_t i = 0; i < wire.size(); i += chunk) {
        Result<bool> r = d.feed(std::string_view(wire).substr(i, chunk));
        REQUIRE(r);
        CHECK(*r);
      }
      CHECK(d.finish());
      CHECK(out == "out line\n" + std::string(70000, 'x'));
      CHECK(err == "err\n");
    }
  }

  TEST_CASE("a stream that is not multiplexed is an error, not garbage output") {
    FrameDemuxer d([](StreamKind, std::string_view) { return true; });
    Result<bool> r = d.feed("hello world, this is a TTY stream\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not multiplexed") != std::string::npos);
  }

  TEST_CASE("a stream cut inside a frame is reported at the end") {
    FrameDemuxer d([](StreamKind, std::string_view) { return true; });
    REQUIRE(d.feed(frame(1, "abcdef").substr(0, 11)));
    CHECK_FALSE(d.finish());
  }

  TEST_CASE("the sink can stop the demuxer") {
    int calls = 0;
    FrameDemuxer d([&](StreamKind, std::string_view) { return ++calls < 1; });
    Result<bool> r = d.feed(frame(1, "a") + frame(1, "b"));
    REQUIRE(r);
    CHECK_FALSE(*r);
    CHECK(calls == 1);
  }

  TEST_CASE("lines are split across chunks and CRLF is trimmed") {
    std::vector<std::string> lines;
    LineSplitter s([&](std::string_view l) {
      lines.emplace_back(l);
      return true;
    });
    REQUIRE(s.feed("{\"a\":1}\r\n{\"b\""));
    REQUIRE(s.feed(":2}\n\n{\"c\":3}"));
    CHECK(s.finish());
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"});
  }

  TEST_CASE("an endless line is refused instead of growing memory") {
    LineSplitter s([](std::string_view) { return true; }, 16);
    REQUIRE(s.feed("0123456789"));
    CHECK_FALSE(s.feed("0123456789"));
  }
}

}  // namespace para::docker
