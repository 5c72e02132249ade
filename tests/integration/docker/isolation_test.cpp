// NetworkMode none: the container has only a loopback interface, so nothing
// it sends can leave it. Each probe is run twice: in an isolated container
// (must fail) and, as the control that shows the probe itself works, in a
// container on the host's network namespace aimed at a listener on the
// host's loopback (must succeed). All traffic is loopback or stays inside
// the isolated container.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "core/fd.h"
#include "docker/containers.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"

namespace para::docker {
namespace {

using namespace std::chrono_literals;
using test::ScopedContainer;

// Counts TCP connections and UDP datagrams that reach host loopback ports.
class LoopbackListeners {
 public:
  LoopbackListeners() {
    tcp4_ = listen_on(AF_INET, SOCK_STREAM, &tcp4_port_);
    tcp6_ = listen_on(AF_INET6, SOCK_STREAM, &tcp6_port_);
    udp4_ = listen_on(AF_INET, SOCK_DGRAM, &udp4_port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~LoopbackListeners() {
    stop_ = true;
    thread_.join();
  }
  int tcp4_port() const { return tcp4_port_; }
  int tcp6_port() const { return tcp6_port_; }
  int udp4_port() const { return udp4_port_; }
  int tcp4_hits() const { return tcp4_hits_; }
  int tcp6_hits() const { return tcp6_hits_; }
  int udp4_hits() const { return udp4_hits_; }
  bool ipv6() const { return tcp6_.valid(); }

 private:
  static Fd listen_on(int family, int type, int* port) {
    Fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fd;
    sockaddr_storage ss{};
    socklen_t len;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fd();
    if (type == SOCK_STREAM) ::listen(fd.get(), 16);
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return fd;
  }
  void loop() {
    while (!stop_) {
      pollfd fds[3] = {
          {tcp4_.get(), POLLIN, 0}, {tcp6_.get(), POLLIN, 0}, {udp4_.get(), POLLIN, 0}};
      if (::poll(fds, 3, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        ::close(::accept(tcp4_.get(), nullptr, nullptr));
        ++tcp4_hits_;
      }
      if (fds[1].revents & POLLIN) {
        ::close(::accept(tcp6_.get(), nullptr, nullptr));
        ++tcp6_hits_;
      }
      if (fds[2].revents & POLLIN) {
        char buf[512];
        (void)::recv(udp4_.get(), buf, sizeof buf, 0);
        ++udp4_hits_;
      }
    }
  }
  Fd tcp4_, tcp6_, udp4_;
  int tcp4_port_ = 0, tcp6_port_ = 0, udp4_port_ = 0;
  std::atomic<int> tcp4_hits_{0}, tcp6_hits_{0}, udp4_hits_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Probe {
  int exit_code;
  std::string output;
};

// Runs a shell command in a fresh container on `network` and returns its result.
Probe probe(const Client& client, const std::string& network, const std::string& script) {
  ContainerSpec spec = test::test_spec({"sh", "-c", script});
  spec.network_mode = network;
  harden(spec);
  const test::RunResult r = test::run_to_exit(client, spec);
  return {r.exit_code, r.output};
}

}  // namespace

TEST_SUITE("docker/isolation") {
  TEST_CASE("an isolated container has only loopback and no route anywhere") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    Probe p = probe(client, "none",
                    "cat /proc/net/dev; echo ROUTES; cat /proc/net/route; echo ROUTES6; "
                    "cat /proc/net/ipv6_route");
    CHECK(p.exit_code == 0);
    CHECK(p.output.find("lo:") != std::string::npos);
    CHECK(p.output.find("eth0") == std::string::npos);
    const std::string routes = p.output.substr(p.output.find("ROUTES"));
    // IPv4: only the header line; IPv6: only loopback entries.
    const std::string v4 = routes.substr(0, routes.find("ROUTES6"));
    CHECK(std::count(v4.begin(), v4.end(), '\n') == 2);
    const std::string v6 = routes.substr(routes.find("ROUTES6"));
    size_t start = v6.find('\n') + 1;
    while (start < v6.size()) {
      const size_t nl = v6.find('\n', start);
      const std::string line = v6.substr(start, nl - start);
      if (!line.empty()) CHECK(line.find(" lo") != std::string::npos);
      start = nl == std::string::npos ? v6.size() : nl + 1;
    }
  }

  TEST_CASE(
      "TCP, UDP, IPv6 and DNS from an isolated container reach nothing, while the same probes from "
      "the host network do") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    LoopbackListeners host;
    const std::string tcp4 =
        "nc -w 2 127.0.0.1 " + std::to_string(host.tcp4_port()) + " </dev/null";
    const std::string tcp6 = "nc -w 2 ::1 " + std::to_string(host.tcp6_port()) + " </dev/null";
    // busybox's nslookup sends its UDP query to SERVER:PORT.
    const std::string udp4 =
        "nslookup -type=a para-test.invalid 127.0.0.1:" + std::to_string(host.udp4_port()) +
        " >/dev/null 2>&1";

    // Isolated: every probe fails and nothing reaches the host.
    const Probe iso =
        probe(client, "none",
              tcp4 + " && echo TCP4-OK; " + (host.ipv6() ? tcp6 + " && echo TCP6-OK; " : "") +
                  "timeout 5 " + udp4 +
                  "; echo UDP-SENT; "
                  // The resolver named in /etc/resolv.conf, whatever it is.
                  "timeout 5 nslookup para-test.invalid 2>&1; echo DONE");
    CHECK(iso.output.find("DONE") != std::string::npos);
    CHECK(iso.output.find("Network is unreachable") != std::string::npos);  // DNS
    for (const char* marker : {"TCP4-OK", "TCP6-OK"}) {
      const std::string m = marker;
      CAPTURE(m);
      CHECK(iso.output.find(m) == std::string::npos);
    }
    std::this_thread::sleep_for(300ms);
    CHECK(host.tcp4_hits() == 0);
    CHECK(host.tcp6_hits() == 0);
    CHECK(host.udp4_hits() == 0);

    // Control: on the host's network the same probes reach the host listeners.
    const Probe open =
        probe(client, "host",
              tcp4 + " && echo TCP4-OK; " + (host.ipv6() ? tcp6 + " && echo TCP6-OK; " : "") +
                  "timeout 3 " + udp4 + "; echo DONE");
    CHECK(open.output.find("TCP4-OK") != std::string::npos);
    CHECK(
        para::test::wait_until([&] { return host.tcp4_hits() >= 1 && host.udp4_hits() >= 1; }, 5s));
    if (host.ipv6()) {
      CHECK(open.output.find("TCP6-OK") != std::string::npos);
      CHECK(host.tcp6_hits() >= 1);
    }
  }
}

}  // namespace para::docker
