#include "tests/docker/fixtures.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "core/fd.h"
#include "core/fs.h"
#include "core/process.h"
#include "docker/containers.h"
#include "docker/images.h"

namespace para::docker::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string source_root() {
  const char* root = std::getenv("PARA_SOURCE_ROOT");
  if (root == nullptr)
    throw std::runtime_error("PARA_SOURCE_ROOT is not set (run through meson test)");
  return root;
}

void run_or_throw(const std::vector<std::string>& argv, const std::string& cwd) {
  Result<Completed> c = run(Command{.argv = argv, .cwd = cwd});
  if (!c || !c->ok()) {
    std::string cmd;
    for (const std::string& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed: " + cmd + (c ? c->err : c.error().message));
  }
}

}  // namespace

bool docker_available() {
  const char* host = std::getenv("DOCKER_HOST");
  std::string h = host ? host : "";
  if (h.starts_with("tcp://")) return true;
  const std::string socket = h.starts_with("unix://") ? h.substr(7) : kDefaultSocket;
  struct stat st {};
  return ::stat(socket.c_str(), &st) == 0;
}

const Client& test_client() {
  // Initialised once; a failure throws and is retried by the next caller.
  static const Client client = [] {
    Result<Client> c = Client::from_env();
    if (!c) throw std::runtime_error("cannot use the Docker daemon: " + c.error().message);
    return *c;
  }();
  return client;
}

void ensure_test_image(const Client& client) {
  Result<bool> exists = image_exists(client, kTestImage);
  if (!exists) throw std::runtime_error(exists.error().message);
  if (*exists) return;
  Result<std::string> busybox = find_program("busybox");
  if (!busybox) throw std::runtime_error("busybox is not installed (Debian: busybox-static)");
  para::test::TempDir context("para-test-image");
  fs::copy_file(source_root() + "/tests/docker/busybox-image/Dockerfile", context / "Dockerfile");
  const std::string rootfs = context / "rootfs";
  for (const char* d : {"bin", "etc", "tmp", "workspace", "root"})
    fs::create_directories(rootfs + "/" + d);
  fs::permissions(rootfs + "/tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::permissions(rootfs + "/workspace", fs::perms::all);
  fs::copy_file(fs::canonical(*busybox), rootfs + "/bin/busybox");
  fs::permissions(rootfs + "/bin/busybox", fs::perms(0755));
  Result<Completed> list = run(Command{.argv = {*busybox, "--list"}});
  if (!list || !list->ok()) throw std::runtime_error("busybox --list failed");
  size_t start = 0;
  while (start < list->out.size()) {
    size_t nl = list->out.find('\n', start);
    if (nl == std::string::npos) nl = list->out.size();
    const std::string applet = list->out.substr(start, nl - start);
    start = nl + 1;
    if (applet.empty() || applet == "busybox" || applet.find('/') != std::string::npos) continue;
    fs::create_symlink("busybox", rootfs + "/bin/" + applet);
  }
  para::test::write_text(rootfs + "/etc/passwd",
                         "root:x:0:0:root:/root:/bin/sh\n"
                         "nobody:x:65534:65534:nobody:/tmp:/bin/sh\n");
  para::test::write_text(rootfs + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  BuildOptions options;
  options.context_dir = context.path();
  options.tag = kTestImage;
  options.labels = {{kTestLabel, "1"}};
  Result<BuildResult> built = build_image(client, options);
  if (!built)
    throw std::runtime_error("building " + std::string(kTestImage) + ": " + built.error().message);
}

ContainerSpec test_spec(std::vector<std::string> cmd) {
  ContainerSpec spec;
  spec.name = "para-test-" + random_hex(6);
  spec.image = kTestImage;
  spec.cmd = std::move(cmd);
  spec.labels = {{kTestLabel, "1"}};
  spec.network_mode = "none";
  return spec;
}

std::string logs_of(const Client& client, const std::string& id) {
  std::string output;
  Result<void> r = follow_logs(
      client, id,
      [&](StreamKind, std::string_view bytes) {
        output.append(bytes);
        return true;
      },
      /*follow=*/false);
  if (!r) throw std::runtime_error("logs of " + id + ": " + r.error().message);
  return output;
}

RunResult run_to_exit(const Client& client, const ContainerSpec& spec,
                      std::chrono::seconds timeout) {
  const auto check = [](const auto& r, const std::string& what) {
    if (!r) throw std::runtime_error(what + ": " + r.error().message);
  };
  Result<std::string> id = create_container(client, spec);
  check(id, "create");
  ScopedContainer guard(client, *id);
  check(start_container(client, *id), "start");
  Result<ContainerExit> exit = wait_container(client, *id, timeout);
  check(exit, "wait");
  Result<ContainerState> state = inspect_container(client, *id);
  check(state, "inspect");
  return {exit->exit_code, exit->oom_killed, logs_of(client, *id), state->host_config};
}

ScopedContainer::~ScopedContainer() {
  if (!id_.empty()) (void)remove_container(client_, id_, true);
}

int free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("bind 127.0.0.1:0 failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------- NetnsRelay

NetnsRelay::NetnsRelay(std::string netns_path, int target_port)
    : netns_path_(std::move(netns_path)), target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 16) != 0) {
    ::close(listener_);
    throw std::runtime_error("relay: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

NetnsRelay::~NetnsRelay() {
  stop_ = true;
  acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : threads_) t.join();
  ::close(listener_);
}

void NetnsRelay::accept_loop() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(client);
    threads_.emplace_back([this, client] { serve(client); });
  }
}

void NetnsRelay::serve(int client) {
  int upstream = -1;
  // This thread alone moves into the daemon's network namespace: a socket
  // belongs to the namespace it was created in.
  Fd ns(::open(netns_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns.valid() && ::setns(ns.get(), CLONE_NEWNET) == 0) {
    upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(target_port_));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(upstream);
      upstream = -1;
    }
  }
  if (upstream >= 0) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_fds_.push_back(upstream);
    }
    char buf[65536];
    bool open[2] = {true, true};  // client->upstream, upstream->client
    while (open[0] || open[1]) {
      pollfd p[2] = {{client, static_cast<short>(open[0] ? POLLIN : 0), 0},
                     {upstream, static_cast<short>(open[1] ? POLLIN : 0), 0}};
      if (::poll(p, 2, 1000) < 0) break;
      for (int i = 0; i < 2; ++i) {
        if (!open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = i == 0 ? client : upstream, to = i == 0 ? upstream : client;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) {
          open[i] = false;
          ::shutdown(to, SHUT_WR);
          continue;
        }
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
          if (w <= 0) {
            open[0] = open[1] = false;
            break;
          }
          off += w;
        }
      }
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (int fd : {client, upstream}) {
    if (fd < 0) continue;
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }
}

// ---------------------------------------------------------------- TlsDaemon

TlsDaemon::TlsDaemon() : dir_("pd") {
  const std::string d = dir_.path();
  fs::create_directories(d + "/client");
  const std::string openssl = "openssl";
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                       "-nodes"};
  auto req = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {openssl, "req"};
    argv.insert(argv.end(), ec.begin(), ec.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    run_or_throw(argv, d);
  };
  // A CA, a server certificate naming 127.0.0.1, a client certificate.
  req({"-x509", "-days", "2", "-subj", "/CN=para-test-ca", "-keyout", "ca-key.pem", "-out",
       "ca.pem"});
  req({"-subj", "/CN=127.0.0.1", "-keyout", "server-key.pem", "-out", "server.csr"});
  req({"-subj", "/CN=para-test-client", "-keyout", "client/key.pem", "-out", "client.csr"});
  para::test::write_text(
      d + "/server.ext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  para::test::write_text(d + "/client.ext", "extendedKeyUsage=clientAuth\n");
  for (const char* who : {"server", "client"}) {
    const std::string w = who;
    run_or_throw({openssl, "x509", "-req", "-in", w + ".csr", "-CA", "ca.pem", "-CAkey",
                  "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", w + ".ext", "-out",
                  w == "server" ? "server-cert.pem" : "client/cert.pem"},
                 d);
  }
  fs::copy_file(d + "/ca.pem", d + "/client/ca.pem");
  para::test::write_text(d + "/daemon.json", "{}\n");

  Result<std::string> dockerd = find_program("dockerd");
  if (!dockerd) throw std::runtime_error("dockerd is not installed (Debian: docker.io)");
  Result<std::string> ip = find_program("ip");
  if (!ip) throw std::runtime_error("ip is not installed (Debian: iproute2)");
  Result<std::string> nsenter = find_program("nsenter");
  if (!nsenter) throw std::runtime_error("nsenter is not installed (Debian: util-linux)");
  netns_ = "para-test-" + random_hex(4);
  run_or_throw({*ip, "netns", "add", netns_}, d);
  run_or_throw({*ip, "-n", netns_, "link", "set", "lo", "up"}, d);
  constexpr int kInsidePort = 2376;
  Fd log(::open((d + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  // nsenter, not "ip netns exec": that one remounts /sys, hiding the cgroup mounts.
  std::vector<std::string> argv = {*nsenter, "--net=/run/netns/" + netns_, "--", *dockerd};
  for (const std::string& a :
       {"--config-file=" + d + "/daemon.json", "--data-root=" + d + "/data",
        "--exec-root=" + d + "/x", "--pidfile=" + d + "/docker.pid",
        "--host=unix://" + d + "/docker.sock",
        "--host=tcp://127.0.0.1:" + std::to_string(kInsidePort), std::string("--tlsverify"),
        "--tlscacert=" + d + "/ca.pem", "--tlscert=" + d + "/server-cert.pem",
        "--tlskey=" + d + "/server-key.pem", std::string("--bridge=none"),
        std::string("--iptables=false"), std::string("--ip-masq=false"),
        "--containerd-namespace=" + netns_, "--containerd-plugins-namespace=" + netns_ + "-p",
        std::string("--log-level=warn")}) {
    argv.push_back(a);
  }
  Result<pid_t> pid =
      spawn(SpawnOptions{.argv = argv, .stdout_fd = log.get(), .stderr_fd = log.get()});
  if (!pid) {
    stop();
    throw std::runtime_error("cannot start dockerd: " + pid.error().message);
  }
  pid_ = *pid;  // nsenter execs dockerd: same pid
  relay_ = std::make_unique<NetnsRelay>("/run/netns/" + netns_, kInsidePort);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<Client> c = Client::connect(endpoint());
    if (c) return;
    if (wait_for(pid_, std::chrono::milliseconds(0))) {  // dockerd exited
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  const std::string text = this->log();
  stop();
  throw std::runtime_error("the TLS dockerd did not come up:\n" + text);
}

TlsDaemon::~TlsDaemon() {
  stop();
}

void TlsDaemon::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    Result<ExitStatus> st = wait_for(pid_, std::chrono::milliseconds(30000));
    if (!st) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      (void)wait_for(pid_, std::chrono::milliseconds(10000));
    }
    pid_ = -1;
  }
  relay_.reset();
  if (!netns_.empty()) {
    (void)run(Command{.argv = {"ip", "netns", "delete", netns_}});
    netns_.clear();
  }
}

Endpoint TlsDaemon::endpoint() const {
  Endpoint ep;
  ep.kind = Endpoint::Kind::tcp;
  ep.host = "127.0.0.1";
  ep.port = port();
  ep.tls = true;
  ep.tls_verify = true;
  ep.ca_cert = dir_ / "client/ca.pem";
  ep.client_cert = dir_ / "client/cert.pem";
  ep.client_key = dir_ / "client/key.pem";
  return ep;
}

std::string TlsDaemon::log() const {
  return para::test::read_text(dir_ / "dockerd.log");
}

}  // namespace para::docker::test
