#include "core/clock.h"

#include <doctest/doctest.h>

namespace para {

TEST_SUITE("core/clock") {
  TEST_CASE("rfc3339 round-trips with microseconds") {
    const SystemTime t =
        std::chrono::system_clock::from_time_t(1795812186) + std::chrono::microseconds(123456);
    const std::string text = rfc3339(t);
    CHECK(text == "2026-11-27T20:43:06.123456Z");
    REQUIRE(parse_rfc3339(text));
    CHECK(*parse_rfc3339(text) == t);
  }

  TEST_CASE("rfc3339 accepts para's offsets and no fraction") {
    REQUIRE(parse_rfc3339("2026-11-27T21:43:06+01:00"));
    CHECK(compact_utc(*parse_rfc3339("2026-11-27T21:43:06+01:00")) == "20261127-204306");
    CHECK_FALSE(parse_rfc3339("yesterday"));
    CHECK_FALSE(parse_rfc3339("2026-13-27T21:43:06Z"));
  }

  TEST_CASE("the compact archive spelling round-trips and rejects junk") {
    const SystemTime t = std::chrono::system_clock::from_time_t(1795812186);
    CHECK(compact_utc(t) == "20261127-204306");
    REQUIRE(parse_compact_utc("20261127-204306"));
    CHECK(*parse_compact_utc("20261127-204306") == t);
    CHECK_FALSE(parse_compact_utc("20261127-20430"));
    CHECK_FALSE(parse_compact_utc("2026112x-204306"));
  }
}

}  // namespace para
