#include "core/process.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>

namespace para {

TEST_SUITE("core/process") {
  TEST_CASE("argv elements reach the child byte-exact, with no shell in between") {
    const std::string hostile = "$(touch PWNED) `id`; | & \"'\n\xc3\xa9";
    Result<Completed> r = run(Command{.argv = {"printf", "%s", hostile}});
    REQUIRE(r);
    CHECK(r->ok());
    CHECK(r->out == hostile);
  }

  TEST_CASE("stdout, stderr, stdin and the exit code are captured") {
    Result<Completed> r = run(Command{.argv = {"sh", "-c", "cat; echo err >&2; exit 3"},
                                      .stdin_data = std::string("in\n")});
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK(r->out == "in\n");
    CHECK(r->err == "err\n");
  }

  TEST_CASE("a large stdin and stdout do not deadlock") {
    const std::string big(4 << 20, 'z');
    Result<Completed> r = run(Command{.argv = {"cat"}, .stdin_data = big});
    REQUIRE(r);
    CHECK(r->out.size() == big.size());
  }

  TEST_CASE("a missing program is not_found") {
    Result<Completed> r = run(Command{.argv = {"para-no-such-program-xyz"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::not_found);
  }

  TEST_CASE("the deadline kills the whole process group") {
    const auto start = std::chrono::steady_clock::now();
    Result<Completed> r = run(Command{.argv = {"sh", "-c", "sleep 30 & sleep 30"},
                                      .timeout = std::chrono::milliseconds(300)});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::timeout);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }

  TEST_CASE("children get the default SIGPIPE disposition even when we ignore it") {
    ::signal(SIGPIPE, SIG_IGN);
    Result<Completed> r = run(Command{.argv = {"grep", "SigIgn", "/proc/self/status"}});
    REQUIRE(r);
    // Bit 13 (SIGPIPE) is 0x1000 in the mask.
    const std::string mask = r->out.substr(r->out.find(':') + 1);
    const unsigned long long bits = std::stoull(mask, nullptr, 16);
    CHECK((bits & (1ull << (SIGPIPE - 1))) == 0);
    ::signal(SIGPIPE, SIG_DFL);
  }

  TEST_CASE("an explicit environment replaces ours") {
    Result<Completed> r =
        run(Command{.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{"ONLY=this"}});
    REQUIRE(r);
    CHECK(r->out == "ONLY=this\n");
  }

  TEST_CASE("set_env replaces and unset_env removes") {
    std::vector<std::string> env = {"A=1", "AB=2"};
    set_env(env, "A", "3");
    CHECK(env == std::vector<std::string>{"AB=2", "A=3"});
    unset_env(env, "AB");
    CHECK(env == std::vector<std::string>{"A=3"});
  }
}

}  // namespace para
