#pragma once

// Fixtures for tests that need a real Docker Engine.
//
//   docker_available()     whether a daemon socket exists at all (tests skip
//                          loudly only when it does not; in CI it does)
//   test_client()          a connected Client for the default endpoint
//   ensure_test_image(c)   builds para-test-busybox:latest from /bin/busybox
//                          (busybox-static) if the engine lacks it
//   ScopedContainer        removes its container on destruction
//   TlsDaemon              a second dockerd on tcp://127.0.0.1:<port> with
//                          --tlsverify and certificates made by openssl
//
// Everything tests create carries the label dev.para.test=1. The test image
// itself is kept between runs as a cache (remove it with
// docker image rm para-test-busybox:latest).

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "docker/client.h"
#include "docker/spec.h"
#include "tests/support/support.h"

namespace para::docker::test {

inline constexpr const char* kTestImage = "para-test-busybox:latest";
inline constexpr const char* kTestLabel = "dev.para.test";

/// DOCKER_HOST's socket (or /var/run/docker.sock) exists, or DOCKER_HOST is tcp.
bool docker_available();

/// A client for the default endpoint; throws (failing the test) when the
/// daemon is there but unusable.
const Client& test_client();

/// Builds kTestImage on `client`'s engine unless it is there. Throws on failure.
void ensure_test_image(const Client& client);

/// A spec for a short-lived test container from kTestImage, labelled, with
/// no network, named "para-test-<random>".
ContainerSpec test_spec(std::vector<std::string> cmd);

struct RunResult {
  int exit_code = -1;
  bool oom_killed = false;
  std::string output;          // stdout and stderr together
  nlohmann::json host_config;  // as the daemon applied it
};

/// Creates, starts and waits for a container (at most `timeout`), collects
/// its output, removes it. Throws on failure.
RunResult run_to_exit(const Client& client, const ContainerSpec& spec,
                      std::chrono::seconds timeout = std::chrono::seconds(60));

/// The container's output so far, stdout and stderr together. Throws on failure.
std::string logs_of(const Client& client, const std::string& id);

/// Removes the container (force) when the test ends, pass or fail.
class ScopedContainer {
 public:
  ScopedContainer(const Client& client, std::string id) : client_(client), id_(std::move(id)) {}
  ~ScopedContainer();
  ScopedContainer(const ScopedContainer&) = delete;
  ScopedContainer& operator=(const ScopedContainer&) = delete;
  const std::string& id() const { return id_; }

 private:
  const Client& client_;
  std::string id_;
};

/// A TCP relay from 127.0.0.1:<port> in our network namespace to
/// 127.0.0.1:<target_port> inside another one (a thread per connection that
/// setns()es into the target before connecting). Traffic stays on loopback.
class NetnsRelay {
 public:
  NetnsRelay(std::string netns_path, int target_port);
  ~NetnsRelay();
  NetnsRelay(const NetnsRelay&) = delete;
  NetnsRelay& operator=(const NetnsRelay&) = delete;
  int port() const { return port_; }

 private:
  void accept_loop();
  void serve(int client);
  std::string netns_path_;
  int target_port_;
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<int> open_fds_;  // shut down on destruction so that threads end
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

/// A second, private dockerd reachable only over TLS on 127.0.0.1.
///
/// It runs in its own network namespace (ip netns), reached through a
/// NetnsRelay: a dockerd started with --bridge none deletes the host's
/// docker0 interface on start-up (moby's removeDefaultBridgeInterface), and
/// one without it would fight the main daemon over docker0. It also has its
/// own data root, exec root, pid file, Unix socket and containerd namespace,
/// and no iptables rules. About 2-4 s to start, 1-3 s to stop.
class TlsDaemon {
 public:
  /// Generates a CA, a server certificate for 127.0.0.1 and a client
  /// certificate with openssl, starts dockerd and waits for it to answer.
  /// Throws with dockerd's log on failure.
  TlsDaemon();
  ~TlsDaemon();
  TlsDaemon(const TlsDaemon&) = delete;
  TlsDaemon& operator=(const TlsDaemon&) = delete;

  /// The port on our 127.0.0.1 that reaches the daemon.
  int port() const { return relay_ ? relay_->port() : 0; }
  /// The directory with ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH).
  std::string cert_path() const { return dir_ / "client"; }
  /// tcp://127.0.0.1:<port> with TLS verification and the client certificate.
  Endpoint endpoint() const;
  std::string log() const;

 private:
  void stop();
  para::test::TempDir dir_;
  std::string netns_;
  std::unique_ptr<NetnsRelay> relay_;
  pid_t pid_ = -1;
};

/// A free TCP port on 127.0.0.1 (bound and released; racy only in theory).
int free_port();

}  // namespace para::docker::test
