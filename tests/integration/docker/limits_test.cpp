#include <doctest/doctest.h>

#include <thread>

#include "core/process.h"
#include "docker/containers.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"

namespace para::docker {
namespace {

using namespace std::chrono_literals;
using test::ScopedContainer;

std::string exec_output(const Client& client, const std::string& id, std::vector<std::string> cmd) {
  std::string out;
  Result<int> code = exec(client, id, {.cmd = std::move(cmd)}, [&](StreamKind, std::string_view b) {
    out.append(b);
    return true;
  });
  REQUIRE(code);
  return out;
}

}  // namespace

TEST_SUITE("docker/limits") {
  TEST_CASE("memory, CPU and pids limits, dropped capabilities and no-new-privileges are applied") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    ContainerSpec spec = test::test_spec({"sleep", "300"});
    spec.memory_bytes = int64_t(64) << 20;
    spec.nano_cpus = 500'000'000;
    spec.pids_limit = 64;
    harden(spec);
    Result<std::string> id = create_container(client, spec);
    REQUIRE(id);
    ScopedContainer guard(client, *id);
    Result<ContainerState> state = inspect_container(client, *id);
    REQUIRE(state);
    const nlohmann::json& h = state->host_config;
    CHECK(h["Memory"] == int64_t(64) << 20);
    CHECK(h["MemorySwap"] == int64_t(64) << 20);
    CHECK(h["NanoCpus"] == 500'000'000);
    CHECK(h["PidsLimit"] == 64);
    CHECK(h["CapDrop"] == nlohmann::json({"ALL"}));
    CHECK(h["SecurityOpt"] == nlohmann::json({"no-new-privileges"}));
    CHECK(h["NetworkMode"] == "none");

    REQUIRE(start_container(client, *id));
    const std::string status = exec_output(client, *id, {"cat", "/proc/self/status"});
    CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
    CHECK(status.find("CapEff:\t0000000000000000") != std::string::npos);
    CHECK(status.find("CapBnd:\t0000000000000000") != std::string::npos);
    // What the container sees of its own cgroup limits (cgroup v1 or v2).
    const std::string pids = exec_output(
        client, *id,
        {"sh", "-c", "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null"});
    CHECK(pids.find("64") != std::string::npos);
  }

  TEST_CASE("a fork bomb is stopped by the pids limit and the host is unaffected") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    ContainerSpec spec = test::test_spec({"sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 300"});
    spec.pids_limit = 32;
    harden(spec);
    Result<std::string> id = create_container(client, spec);
    REQUIRE(id);
    ScopedContainer guard(client, *id);
    REQUIRE(start_container(client, *id));
    // The bomb runs and hits the ceiling (on a loaded machine that can
    // take longer than on an idle one): poll, then check it stays under.
    int64_t most = 0;
    CHECK(para::test::wait_until(
        [&] {
          Result<ContainerStats> now = container_stats(client, *id);
          if (now) most = std::max<int64_t>(most, now->pids_current);
          return most >= 16;
        },
        20s, 100ms));
    Result<ContainerStats> stats = container_stats(client, *id);
    REQUIRE(stats);
    CHECK(stats->pids_current <= 32);
    CHECK(most <= 32);
    // The shell reports the refused forks in the container's output.
    const std::string output = test::logs_of(client, *id);
    CHECK(output.find("can't fork") != std::string::npos);
    // The host still starts processes.
    Result<Completed> host = run(Command{.argv = {"true"}});
    REQUIRE(host);
    CHECK(host->ok());
    // And the whole thing stops promptly.
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(kill_container(client, *id));
    Result<ContainerExit> exit = wait_container(client, *id, 30s);
    REQUIRE(exit);
    CHECK(exit->exit_code == 137);
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  }

  TEST_CASE("a memory hog is killed by the OOM killer and the exit says so") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    ContainerSpec spec = test::test_spec({"sh", "-c", "x=a; while :; do x=$x$x; done"});
    spec.memory_bytes = int64_t(16) << 20;
    harden(spec);
    const test::RunResult r = test::run_to_exit(client, spec);
    CHECK(r.oom_killed);
    CHECK(r.exit_code == 137);
    CHECK(describe_exit({.exit_code = r.exit_code, .oom_killed = r.oom_killed}, r.host_config) ==
          "was killed by the out-of-memory killer (memory limit 16 MiB)");
  }
}

}  // namespace para::docker
