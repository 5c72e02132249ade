// A remote engine: a second dockerd on tcp://127.0.0.1:<port> with
// --tlsverify and certificates this test generates. Bind mounts would name
// paths on the daemon's machine, so the workspace goes in and out through
// the archive endpoints. About 10 s. One test case with sequential blocks,
// not SUBCASEs: doctest reruns a test case per subcase, which would start
// a daemon each time.

#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "docker/containers.h"
#include "docker/images.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"

namespace para::docker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

}  // namespace

TEST_SUITE("docker/tls") {
  TEST_CASE(
      "a TLS engine at DOCKER_HOST=tcp:// runs the container lifecycle through the archive "
      "endpoints") {
    test::TlsDaemon daemon;
    const std::string host = "tcp://127.0.0.1:" + std::to_string(daemon.port());

    {  // the lifecycle: build, create, copy in, run, copy out, remove
      Result<Endpoint> ep = endpoint_from_env(map_env({{"DOCKER_HOST", host},
                                                       {"DOCKER_TLS_VERIFY", "1"},
                                                       {"DOCKER_CERT_PATH", daemon.cert_path()}}),
                                              "/nonexistent");
      REQUIRE(ep);
      CHECK(ep->remote());
      Result<Client> client = Client::connect(*ep);
      REQUIRE(client);
      CHECK(client->remote());
      test::ensure_test_image(*client);  // built over TLS on the second engine

      para::test::TempDir worktree, result;
      fs::create_directories(worktree / "src");
      para::test::write_text(worktree / "src/main.c", "int main(void) { return 0; }\n");
      para::test::write_text(worktree / "notes.txt", "before\n");
      ContainerSpec spec =
          test::test_spec({"sh", "-c",
                           "cd /workspace && test -f src/main.c && echo after > notes.txt && "
                           "echo agent work > feature.txt && echo working"});
      spec.working_dir = "/workspace";
      spec.labels[kSessionLabel] = "remote";
      harden(spec);
      Result<std::string> id = create_container(*client, spec);
      REQUIRE(id);
      test::ScopedContainer guard(*client, *id);
      REQUIRE(copy_into(*client, *id, worktree.path(), "/", {.prefix = "workspace"}));
      REQUIRE(start_container(*client, *id));
      std::string output;
      REQUIRE(follow_logs(*client, *id, [&](StreamKind, std::string_view b) {
        output.append(b);
        return true;
      }));
      Result<ContainerExit> exit = wait_container(*client, *id, 30s);
      REQUIRE(exit);
      CHECK(exit->exit_code == 0);
      CHECK(output == "working\n");
      REQUIRE(copy_out(*client, *id, "/workspace", result.path()));
      CHECK(para::test::read_text(result / "notes.txt") == "after\n");
      CHECK(para::test::read_text(result / "feature.txt") == "agent work\n");
      CHECK(para::test::read_text(result / "src/main.c") == "int main(void) { return 0; }\n");
      Result<std::vector<ContainerSummary>> listed = list_para_containers(*client);
      REQUIRE(listed);
      REQUIRE(listed->size() == 1);
      CHECK(listed->front().id == *id);
      REQUIRE(remove_container(*client, *id));
      Result<std::vector<ContainerSummary>> after = list_para_containers(*client);
      REQUIRE(after);
      CHECK(after->empty());
    }

    {  // without a client certificate the daemon refuses the TLS handshake
      Endpoint ep = daemon.endpoint();
      ep.client_cert.clear();
      ep.client_key.clear();
      Result<Client> client = Client::connect(ep);
      REQUIRE_FALSE(client);
      CHECK(client.error().message.find("client certificate") != std::string::npos);
    }

    {  // a daemon certificate from another CA is not trusted
      Endpoint ep = daemon.endpoint();
      ep.ca_cert = "/etc/ssl/certs/ca-certificates.crt";  // the system CAs, not the test CA
      Result<Client> client = Client::connect(ep);
      REQUIRE_FALSE(client);
      CHECK(client.error().code == Errc::denied);
      CHECK(client.error().message.find("not trusted") != std::string::npos);
    }

    {  // plain HTTP to the TLS port fails
      Endpoint ep = daemon.endpoint();
      ep.tls = false;
      ep.tls_verify = false;
      Result<Client> client = Client::connect(ep);
      REQUIRE_FALSE(client);
    }
  }
}

}  // namespace para::docker
