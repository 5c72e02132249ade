#include "core/result.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

namespace para {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::invalid_argument, "must be positive");
  return v;
}

Result<int> doubled(int v) {
  Result<int> r = parse_positive(v);
  if (!r) return fail(r.error());
  return *r * 2;
}

}  // namespace

TEST_SUITE("core/result") {
  TEST_CASE("a value result holds the value") {
    Result<int> r = doubled(21);
    REQUIRE(r.has_value());
    CHECK(*r == 42);
  }

  TEST_CASE("an error propagates through fail() with its code and message") {
    Result<int> r = doubled(-1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_argument);
    CHECK(r.error().message == "must be positive");
  }

  TEST_CASE("Result<void> is success by default and an error when built from one") {
    Result<void> ok;
    CHECK(ok.has_value());
    Result<void> bad = fail(Errc::io, "disk on fire", 5);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().sys_errno == 5);
  }

  TEST_CASE("move-only values can be returned and moved out") {
    Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
    std::unique_ptr<int> p = std::move(r).value();
    CHECK(*p == 7);
  }

  TEST_CASE("error codes have stable names") {
    CHECK(std::string(errc_name(Errc::not_found)) == "not_found");
    CHECK(std::string(errc_name(Errc::conflict)) == "conflict");
    for (Errc code : {Errc::invalid_argument, Errc::not_found, Errc::already_exists, Errc::io,
                      Errc::tool_failed, Errc::timeout, Errc::denied, Errc::unavailable,
                      Errc::conflict, Errc::internal}) {
      CHECK(errc_from_name(errc_name(code)) == code);
    }
    CHECK(errc_from_name("no_such_code") == Errc::internal);
  }
}

}  // namespace para
