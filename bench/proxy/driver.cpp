// Proxy benchmark driver: measures, in one run and on loopback only,
//   1. CONNECT set-up latency (connect -> "200" received), p50 and p99;
//   2. single-tunnel download throughput;
//   3. aggregate throughput of 1,000 concurrent tunnels;
//   4. the proxy's resident memory with 5,000 idle tunnels open;
//   5. CPU time per GB relayed of each actor: the client, the upstream and
//      the proxy, and what that allows on this machine's CPUs;
// for direct loopback (no proxy: the physical limit), para's proxy
// (`para proxy`), tinyproxy and the proxy of Anthropic's sandbox-runtime, and
// prints the ratios. Built and run by bench/proxy/run.sh; see BENCHMARKS.md.
//
// The upstream is a source server in this process: a client sends "N\n" and
// receives N bytes, then EOF. Every client and server socket is driven by
// epoll; all traffic stays on 127.0.0.1.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// ---- the upstream source server ----

class SourceServer {
 public:
  SourceServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listener_, 4096) != 0) {
      die("source server: cannot listen");
    }
    socklen_t len = sizeof sa;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    chunk_.assign(1 << 20, 'x');
    for (size_t i = 0; i < chunk_.size(); ++i) chunk_[i] = static_cast<char>(i * 131 + 7);
    thread_ = std::thread([this] { loop(); });
    if (pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_) != 0)
      die("cannot read the source server's CPU clock");
  }
  ~SourceServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  // CPU time the server's thread has used so far.
  double cpu_seconds() const {
    timespec ts{};
    clock_gettime(cpu_clock_, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }

 private:
  struct Conn {
    int fd;
    std::string request;
    uint64_t left = 0;
    bool sending = false;
  };

  void loop() {
    const int ep = epoll_create1(0);
    epoll_event ev{EPOLLIN, {.ptr = nullptr}};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener_, &ev);
    std::vector<epoll_event> events(1024);
    while (!stop_) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(events[i].data.ptr);
        if (c == nullptr) {
          while (true) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0) break;
            nodelay(fd);
            epoll_event e{EPOLLIN, {.ptr = new Conn{fd}}};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
          }
          continue;
        }
        if (!service(ep, c)) {
          ::close(c->fd);
          delete c;
        }
      }
    }
    ::close(ep);
  }

  // False when the connection is finished.
  bool service(int ep, Conn* c) {
    if (!c->sending) {
      char buf[256];
      const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return false;
      if (n > 0) c->request.append(buf, static_cast<size_t>(n));
      const size_t nl = c->request.find('\n');
      if (nl == std::string::npos) return true;
      c->left = std::strtoull(c->request.c_str(), nullptr, 10);
      c->sending = true;
      epoll_event e{EPOLLOUT, {.ptr = c}};
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    }
    while (c->left > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(c->left, chunk_.size()));
      const ssize_t n = ::send(c->fd, chunk_.data(), want, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN;
      c->left -= static_cast<uint64_t>(n);
    }
    ::shutdown(c->fd, SHUT_WR);
    return false;
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::string chunk_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  clockid_t cpu_clock_{};
};

// ---- proxies ----

struct Proxy {
  std::string name;
  pid_t pid = -1;
  uint16_t port = 0;        // 0: direct
  std::string target;       // CONNECT target
  std::string auth_header;  // "Proxy-Authorization: ...\r\n" or ""
};

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd,
            const std::string& cwd = "") {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const int devnull = ::open("/dev/null", O_RDONLY);
  posix_spawn_file_actions_adddup2(&fa, devnull, 0);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int r = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(devnull);
  if (r != 0) die("cannot run " + argv[0] + ": " + std::strerror(r));
  return pid;
}

// Reads a child's output (through a pipe) until `done` accepts it or 20 s pass.
std::string read_until(int fd, bool (*done)(const std::string&)) {
  std::string out;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  set_nonblocking(fd);
  while (Clock::now() < deadline && !done(out)) {
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return out;
}

bool wait_port(uint16_t port) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa = loopback(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

// ---- resident memory of a process tree ----

std::map<pid_t, pid_t> parents() {
  std::map<pid_t, pid_t> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    out[pid] = ppid;
  }
  ::closedir(d);
  return out;
}

uint64_t status_kib(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + std::strlen(key), nullptr, 10);
  }
  return 0;
}

// utime + stime of one process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The process and its descendants (tinyproxy may fork).
std::vector<pid_t> process_tree(pid_t root) {
  const std::map<pid_t, pid_t> pp = parents();
  std::vector<pid_t> out;
  for (const auto& [pid, ppid] : pp) {
    pid_t p = pid;
    while (p > 1 && p != root) p = pp.count(p) ? pp.at(p) : 0;
    if (p == root) out.push_back(pid);
  }
  return out;
}

double tree_cpu_seconds(pid_t root) {
  double total = 0;
  for (pid_t pid : process_tree(root)) total += cpu_seconds(pid);
  return total;
}

uint64_t tree_rss_kib(pid_t root) {
  uint64_t total = 0;
  for (pid_t pid : process_tree(root)) total += status_kib(pid, "VmRSS:");
  return total;
}

// ---- the client engine: many tunnels over epoll ----

struct Tunnel {
  int fd = -1;
  enum class State { connecting, reading_reply, requesting, downloading, idle, done, failed } state;
  std::string reply;
  uint64_t left = 0;
};

struct RunResult {
  uint64_t bytes = 0;
  int failed = 0;
  double seconds = 0;
};

// Opens `count` tunnels (at most 256 connects in flight); each asks for
// `bytes` (0: stays idle once established). Returns when all are done or idle.
RunResult run_tunnels(const Proxy& p, uint16_t upstream, int count, uint64_t bytes,
                      std::vector<Tunnel>* keep,
                      std::chrono::seconds limit = std::chrono::seconds(300)) {
  const int ep = epoll_create1(0);
  std::vector<Tunnel> tunnels(static_cast<size_t>(count));
  const std::string connect =
      "CONNECT " + p.target + " HTTP/1.1\r\nHost: " + p.target + "\r\n" + p.auth_header + "\r\n";
  const std::string request = std::to_string(bytes) + "\n";
  int next = 0, in_flight = 0, finished = 0;
  RunResult result;
  std::vector<char> buf(1 << 18);
  const auto start = Clock::now();
  auto open_one = [&] {
    Tunnel& t = tunnels[static_cast<size_t>(next)];
    t.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    nodelay(t.fd);
    sockaddr_in sa = loopback(p.port != 0 ? p.port : upstream);
    ::connect(t.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    t.state = Tunnel::State::connecting;
    epoll_event e{EPOLLOUT | EPOLLIN, {.u64 = static_cast<uint64_t>(next)}};
    epoll_ctl(ep, EPOLL_CTL_ADD, t.fd, &e);
    ++next;
    ++in_flight;
  };
  auto finish = [&](Tunnel& t, Tunnel::State s) {
    if (s == Tunnel::State::failed) ++result.failed;
    if (t.state == Tunnel::State::connecting || t.state == Tunnel::State::reading_reply)
      --in_flight;
    t.state = s;
    ++finished;
    if (s != Tunnel::State::idle) {
      ::close(t.fd);
      t.fd = -1;
    } else {
      epoll_ctl(ep, EPOLL_CTL_DEL, t.fd, nullptr);
    }
  };
  auto start_request = [&](Tunnel& t) {
    --in_flight;
    t.state = Tunnel::State::requesting;
    if (bytes == 0) return finish(t, Tunnel::State::idle);
    t.state = Tunnel::State::downloading;
    t.left = bytes;
    ::send(t.fd, request.data(), request.size(), MSG_NOSIGNAL);
  };
  std::vector<epoll_event> events(1024);
  while (finished < count) {
    while (next < count && in_flight < 256) open_one();
    if (Clock::now() - start > limit) break;
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    for (int i = 0; i < n; ++i) {
      Tunnel& t = tunnels[events[i].data.u64];
      if (t.fd < 0) continue;
      if (t.state == Tunnel::State::connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          finish(t, Tunnel::State::failed);
          continue;
        }
        epoll_event e{EPOLLIN, {.u64 = events[i].data.u64}};
        epoll_ctl(ep, EPOLL_CTL_MOD, t.fd, &e);
        if (p.port == 0) {
          start_request(t);
        } else {
          ::send(t.fd, connect.data(), connect.size(), MSG_NOSIGNAL);
          t.state = Tunnel::State::reading_reply;
        }
        continue;
      }
      const ssize_t got =
          ::recv(t.fd, buf.data(), t.state == Tunnel::State::reading_reply ? 1 : buf.size(), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        finish(t, t.state == Tunnel::State::downloading && t.left == 0 ? Tunnel::State::done
                                                                       : Tunnel::State::failed);
        continue;
      }
      if (t.state ==
          Tunnel::State::reading_reply) {  // byte by byte: nothing past the head is eaten
        t.reply.push_back(buf[0]);
        if (t.reply.size() > 4 && t.reply.compare(t.reply.size() - 4, 4, "\r\n\r\n") == 0) {
          if (t.reply.compare(0, 12, "HTTP/1.1 200") != 0 &&
              t.reply.compare(0, 12, "HTTP/1.0 200") != 0) {
            std::fprintf(stderr, "bench: %s answered: %s\n", p.name.c_str(),
                         t.reply.substr(0, 60).c_str());
            finish(t, Tunnel::State::failed);
          } else {
            start_request(t);
          }
        }
        continue;
      }
      result.bytes += static_cast<uint64_t>(got);
      t.left -= std::min<uint64_t>(t.left, static_cast<uint64_t>(got));
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.failed += count - finished;
  if (keep != nullptr) {
    *keep = std::move(tunnels);
  } else {
    for (Tunnel& t : tunnels) {
      if (t.fd >= 0) ::close(t.fd);
    }
  }
  ::close(ep);
  return result;
}

// Sequential CONNECT set-up times in microseconds.
std::vector<double> connect_latencies(const Proxy& p, uint16_t upstream, int count) {
  std::vector<double> out;
  const std::string connect =
      "CONNECT " + p.target + " HTTP/1.1\r\nHost: " + p.target + "\r\n" + p.auth_header + "\r\n";
  for (int i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    nodelay(fd);
    sockaddr_in sa = loopback(p.port != 0 ? p.port : upstream);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      die(p.name + ": connect failed");
    if (p.port != 0) {
      ::send(fd, connect.data(), connect.size(), MSG_NOSIGNAL);
      std::string reply;
      char c;
      while (reply.size() < 4 || reply.compare(reply.size() - 4, 4, "\r\n\r\n") != 0) {
        if (::recv(fd, &c, 1, 0) != 1) die(p.name + ": no CONNECT reply");
        reply.push_back(c);
      }
      if (reply.find(" 200") == std::string::npos)
        die(p.name + " refused the CONNECT: " + reply.substr(0, 60));
    }
    out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ::close(fd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Row {
  std::string name;
  double p50_us = 0, p99_us = 0, single_mbs = 0, aggregate_mbs = 0;
  double idle_rss_mib = -1;
  double cpu_ms_per_gb = -1;  // the proxy's own CPU time per GB relayed: robust to a busy machine
  double client_ms_per_gb = 0, upstream_ms_per_gb = 0;  // the driver's two actors, same phases
  double cpus_busy = 0;  // average CPUs used by all actors together over the throughput phases
  int failures = 0;
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The CPU time all actors spend per GB relayed.
double total_ms_per_gb(const Row& r) {
  return r.client_ms_per_gb + r.upstream_ms_per_gb + std::max(0.0, r.cpu_ms_per_gb);
}

Row measure(const Proxy& p, const SourceServer& source,
            const std::map<std::string, uint64_t>& scale) {
  const uint16_t upstream = source.port();
  Row row;
  row.name = p.name;
  std::fprintf(stderr, "bench: %s ...\n", p.name.c_str());
  const std::vector<double> lat =
      connect_latencies(p, upstream, static_cast<int>(scale.at("latency_count")));
  row.p50_us = lat[lat.size() / 2];
  row.p99_us = lat[lat.size() * 99 / 100];
  const double cpu_before = p.pid > 0 ? tree_cpu_seconds(p.pid) : 0;
  const double client_before = thread_cpu_seconds(), upstream_before = source.cpu_seconds();
  const RunResult single = run_tunnels(p, upstream, 1, scale.at("single_bytes"), nullptr);
  row.single_mbs = static_cast<double>(single.bytes) / single.seconds / 1e6;
  row.failures += single.failed;
  const RunResult many = run_tunnels(p, upstream, static_cast<int>(scale.at("aggregate_tunnels")),
                                     scale.at("aggregate_bytes"), nullptr);
  row.aggregate_mbs = static_cast<double>(many.bytes) / many.seconds / 1e6;
  row.failures += many.failed;
  const double gb = static_cast<double>(single.bytes + many.bytes) / 1e9;
  if (p.pid > 0) row.cpu_ms_per_gb = (tree_cpu_seconds(p.pid) - cpu_before) * 1000 / gb;
  row.client_ms_per_gb = (thread_cpu_seconds() - client_before) * 1000 / gb;
  row.upstream_ms_per_gb = (source.cpu_seconds() - upstream_before) * 1000 / gb;
  row.cpus_busy = total_ms_per_gb(row) * gb / 1000 / (single.seconds + many.seconds);
  if (p.pid > 0) {
    std::vector<Tunnel> idle;
    const RunResult open =
        run_tunnels(p, upstream, static_cast<int>(scale.at("idle_tunnels")), 0, &idle);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    row.idle_rss_mib = static_cast<double>(tree_rss_kib(p.pid)) / 1024;
    row.failures += open.failed;
    for (Tunnel& t : idle) {
      if (t.fd >= 0) ::close(t.fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return row;
}

void stop(Proxy& p) {
  if (p.pid <= 0) return;
  ::kill(p.pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(p.pid, nullptr, WNOHANG) == p.pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(p.pid, SIGKILL);
  ::waitpid(p.pid, nullptr, 0);
}

// Where the CPU goes, per actor, and what it allows. When every CPU is busy,
// throughput is at most CPUs / (total CPU per byte); with a CPU for each
// actor, the busiest actor alone sets the limit. Loopback TCP runs the
// receiver's half in the sender's context (and ACKs the other way round), so
// the split between actors is an estimate; the total is not.
void print_cpu_budget(const std::vector<Row>& rows, const Row* direct, const Row* ours) {
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("\nCPU ms per GB over the two throughput phases, by actor:\n");
  std::printf("%-24s %10s %10s %10s %10s %10s\n", "", "client", "upstream", "proxy", "total",
              "CPUs busy");
  for (const Row& r : rows) {
    std::printf("%-24s %10.0f %10.0f %10s %10.0f %10.2f\n", r.name.c_str(), r.client_ms_per_gb,
                r.upstream_ms_per_gb,
                r.cpu_ms_per_gb < 0 ? "-" : std::to_string(int(r.cpu_ms_per_gb + 0.5)).c_str(),
                total_ms_per_gb(r), r.cpus_busy);
  }
  if (direct == nullptr || ours == nullptr) return;
  const double all_busy = total_ms_per_gb(*direct) / total_ms_per_gb(*ours);
  const double busiest_direct = std::max(direct->client_ms_per_gb, direct->upstream_ms_per_gb);
  const double busiest_ours =
      std::max({ours->client_ms_per_gb, ours->upstream_ms_per_gb, ours->cpu_ms_per_gb});
  std::printf(
      "  with all %ld CPUs busy, para can reach at most %.0f%% of direct loopback "
      "(total CPU per GB: %.0f against %.0f ms)\n",
      cpus, 100 * all_busy, total_ms_per_gb(*ours), total_ms_per_gb(*direct));
  std::printf(
      "  with a CPU for each actor, the busiest actor allows about %.0f%% of direct loopback "
      "(%.0f against %.0f ms per GB; loopback TCP work is charged to whichever thread "
      "triggers it)\n",
      100 * std::min(1.0, busiest_direct / busiest_ours), busiest_ours, busiest_direct);
}

}  // namespace

int main(int argc, char** argv) {
  std::string para, tinyproxy = "/usr/sbin/tinyproxy", srt_dir, scratch = "/tmp";
  std::vector<std::string> only;
  std::map<std::string, uint64_t> scale = {{"latency_count", 2000},
                                           {"single_bytes", 2ull << 30},
                                           {"aggregate_tunnels", 1000},
                                           {"aggregate_bytes", 2ull << 20},
                                           {"idle_tunnels", 5000}};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--para")
      para = v;
    else if (k == "--tinyproxy")
      tinyproxy = v;
    else if (k == "--srt-dir")
      srt_dir = v;
    else if (k == "--scratch")
      scratch = v;
    else if (k == "--only")
      only.push_back(v);
    else if (k.rfind("--", 0) == 0 && scale.count(k.substr(2)))
      scale[k.substr(2)] = std::strtoull(v.c_str(), nullptr, 10);
    else
      die("unknown option " + k);
  }
  auto wanted = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  ::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);

  SourceServer source;
  const std::string upstream = std::to_string(source.port());
  std::vector<Row> rows;

  if (wanted("direct")) rows.push_back(measure(Proxy{"direct loopback"}, source, scale));

  if (wanted("para") && !para.empty()) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) die("pipe");
    Proxy p{"para proxy"};
    p.pid = spawn({para, "proxy", "--port", "0", "--no-essential-domains", "--allowed-domains",
                   "bench.test:" + upstream + "/plain", "--resolve", "bench.test:127.0.0.1",
                   "--log", scratch + "/para-net.jsonl", "--max-connections", "20000"},
                  -1, pipe_fds[1]);
    ::close(pipe_fds[1]);
    const std::string err = read_until(pipe_fds[0], [](const std::string& s) {
      return s.find("\n  export") != std::string::npos;
    });
    const size_t at = err.find("listening on 127.0.0.1:");
    if (at == std::string::npos) die("para proxy did not start: " + err);
    p.port = static_cast<uint16_t>(std::atoi(err.c_str() + at + 23));
    p.target = "bench.test:" + upstream;
    rows.push_back(measure(p, source, scale));
    stop(p);
    ::close(pipe_fds[0]);
  }

  if (wanted("tinyproxy") && ::access(tinyproxy.c_str(), X_OK) == 0) {
    Proxy p{"tinyproxy"};
    p.port = free_port();
    const std::string conf = scratch + "/tinyproxy.conf", filter = scratch + "/tinyproxy.filter";
    std::ofstream(filter) << "^127\\.0\\.0\\.1$\n";
    std::ofstream(conf) << "Port " << p.port
                        << "\nListen 127.0.0.1\nTimeout 600\nMaxClients 20000\n"
                        << "LogLevel Critical\nLogFile \"" << scratch << "/tinyproxy.log\"\n"
                        << "Filter \"" << filter << "\"\nFilterDefaultDeny Yes\nFilterURLs Off\n"
                        << "ConnectPort " << upstream << "\n";
    p.pid = spawn({tinyproxy, "-d", "-c", conf}, -1, -1);
    if (!wait_port(p.port)) die("tinyproxy did not start");
    p.target = "127.0.0.1:" + upstream;
    rows.push_back(measure(p, source, scale));
    stop(p);
  }

  if (wanted("srt") && !srt_dir.empty()) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) die("pipe");
    Proxy p{"sandbox-runtime (srt)"};
    p.pid = spawn({"node", "srt_proxy.mjs", "[\"127.0.0.1:" + upstream + "\"]"}, pipe_fds[1], -1,
                  srt_dir);
    ::close(pipe_fds[1]);
    const std::string out = read_until(
        pipe_fds[0], [](const std::string& s) { return s.find('\n') != std::string::npos; });
    const size_t at = out.find("\"port\":");
    const size_t tok = out.find("\"token\":\"");
    if (at == std::string::npos) die("srt did not start: " + out);
    p.port = static_cast<uint16_t>(std::atoi(out.c_str() + at + 7));
    if (tok != std::string::npos) {
      const std::string token = out.substr(tok + 9, out.find('"', tok + 9) - tok - 9);
      p.auth_header = "Proxy-Authorization: Basic " + base64("srt:" + token) + "\r\n";
    }
    p.target = "127.0.0.1:" + upstream;
    rows.push_back(measure(p, source, scale));
    stop(p);
    ::close(pipe_fds[0]);
  }

  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  std::printf("\nload average at the end: %.1f %.1f %.1f on %ld CPUs\n", load[0], load[1], load[2],
              ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("\n%-24s %12s %12s %14s %19s %16s %12s %9s\n", "", "CONNECT p50", "CONNECT p99",
              "1 tunnel MB/s", "1,000 tunnels MB/s", "RSS 5k idle MiB", "CPU ms/GB", "failures");
  auto optional = [](double v) { return v < 0 ? std::string("-") : std::to_string(int(v + 0.5)); };
  for (const Row& r : rows) {
    std::printf("%-24s %9.0f us %9.0f us %14.0f %19.0f %16s %12s %9d\n", r.name.c_str(), r.p50_us,
                r.p99_us, r.single_mbs, r.aggregate_mbs, optional(r.idle_rss_mib).c_str(),
                optional(r.cpu_ms_per_gb).c_str(), r.failures);
  }
  const Row* direct = nullptr;
  const Row* ours = nullptr;
  for (const Row& r : rows) {
    if (r.name == "direct loopback") direct = &r;
    if (r.name == "para proxy") ours = &r;
  }
  if (ours != nullptr) {
    std::printf("\nratios (para proxy / other):\n");
    for (const Row& r : rows) {
      if (&r == ours) continue;
      std::printf(
          "  vs %-22s latency p50 %.2fx, p99 %.2fx; throughput 1 tunnel %.2fx, 1,000 tunnels %.2fx",
          r.name.c_str(), ours->p50_us / r.p50_us, ours->p99_us / r.p99_us,
          ours->single_mbs / r.single_mbs, ours->aggregate_mbs / r.aggregate_mbs);
      if (r.idle_rss_mib > 0) std::printf("; idle RSS %.2fx", ours->idle_rss_mib / r.idle_rss_mib);
      if (r.cpu_ms_per_gb > 0)
        std::printf("; CPU per GB %.2fx", ours->cpu_ms_per_gb / r.cpu_ms_per_gb);
      std::printf("\n");
    }
    if (direct != nullptr) {
      std::printf(
          "  para throughput is %.0f%% (1 tunnel) and %.0f%% (1,000 tunnels) of direct loopback\n",
          100 * ours->single_mbs / direct->single_mbs,
          100 * ours->aggregate_mbs / direct->aggregate_mbs);
    }
  }
  print_cpu_budget(rows, direct, ours);
  return 0;
}
