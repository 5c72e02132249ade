// Container start latency: from "start a container" to the container
// running, para's docker/ library against the docker CLI (`docker run -d`),
// same image, same bind mount, same hardening, measured in the same run and
// interleaved so that both see the same daemon state.
//
//   ninja -C build tests/integration/docker/bench-docker-start
//   PARA_SOURCE_ROOT=$PWD build/tests/integration/docker/bench-docker-start [runs]
//
// para's side includes connecting and negotiating the API version (as a
// session start does); the CLI's side includes starting the docker process.
// Removal is not timed. Traffic: the local daemon's Unix socket only.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/process.h"
#include "docker/client.h"
#include "docker/containers.h"
#include "docker/spec.h"
#include "tests/docker/fixtures.h"
#include "tests/support/support.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace para;
using namespace para::docker;
namespace fx = para::docker::test;  // the test fixtures: the busybox image

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int fail_with(const std::string& what) {
  std::fprintf(stderr, "bench-docker-start: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  Result<Client> probe = Client::from_env();
  if (!probe) return fail_with(probe.error().message);
  fx::ensure_test_image(*probe);
  Result<std::string> docker = find_program("docker");
  if (!docker) return fail_with("the docker CLI is not installed (Debian: docker.io)");
  para::test::TempDir workspace("para-bench-ws");

  std::vector<double> para_ms, cli_ms;
  for (int i = 0; i < runs; ++i) {
    const std::string suffix = random_hex(4);
    // para: connect (ping, version), create, start.
    {
      const std::string name = "para-bench-" + suffix;
      const Clock::time_point t0 = Clock::now();
      Result<Client> client = Client::from_env();
      if (!client) return fail_with(client.error().message);
      ContainerSpec spec;
      spec.name = name;
      spec.image = fx::kTestImage;
      spec.cmd = {"sleep", "300"};
      spec.labels = {{fx::kTestLabel, "1"}};
      spec.mounts = {{Mount::Type::bind, workspace.path(), "/workspace", false}};
      spec.working_dir = "/workspace";
      spec.network_mode = "none";
      harden(spec);
      Result<std::string> id = create_container(*client, spec);
      if (!id) return fail_with(id.error().message);
      if (Result<void> s = start_container(*client, *id); !s) return fail_with(s.error().message);
      para_ms.push_back(ms_since(t0));
      (void)remove_container(*probe, *id, true);
    }
    // docker run -d with the same settings.
    {
      const std::string name = "para-bench-cli-" + suffix;
      const Clock::time_point t0 = Clock::now();
      Result<Completed> c = run(Command{.argv = {*docker,
                                                 "run",
                                                 "-d",
                                                 "--name",
                                                 name,
                                                 "--label",
                                                 std::string(fx::kTestLabel) + "=1",
                                                 "--network",
                                                 "none",
                                                 "--cap-drop",
                                                 "ALL",
                                                 "--security-opt",
                                                 "no-new-privileges",
                                                 "-v",
                                                 workspace.path() + ":/workspace",
                                                 "-w",
                                                 "/workspace",
                                                 fx::kTestImage,
                                                 "sleep",
                                                 "300"}});
      if (!c || !c->ok())
        return fail_with("docker run failed: " + (c ? c->err : c.error().message));
      cli_ms.push_back(ms_since(t0));
      (void)remove_container(*probe, name, true);
    }
  }
  const double para_median = percentile(para_ms, 0.5), cli_median = percentile(cli_ms, 0.5);
  std::printf("container start (create + start, bind mount, hardened), %d runs each\n", runs);
  std::printf("  para docker/   median %7.1f ms   p90 %7.1f ms\n", para_median,
              percentile(para_ms, 0.9));
  std::printf("  docker run -d  median %7.1f ms   p90 %7.1f ms\n", cli_median,
              percentile(cli_ms, 0.9));
  std::printf("  ratio para/docker (median): %.2f  (below 1: para is faster)\n",
              para_median / cli_median);
  return 0;
}
