// para-relay: forwards loopback TCP connections, byte for byte, to the
// session proxy's Unix socket. It runs inside network namespaces (bwrap
// --unshare-net) and as the entrypoint of NetworkMode=none containers whose
// image may have no C library, so it is linked statically, uses only epoll
// and never resolves names.
//
//   para-relay --listen 127.0.0.1:8877 [--listen [::1]:8877] --connect unix:/path
//              [--wait-for FILE] [-- CMD ARGS...]
//   para-relay --wait-for FILE -- CMD ARGS...
//
// Each accepted connection gets one Unix-socket connection; two 64 KiB
// buffers (one per direction) bound memory: a full buffer stops reading its
// source until the destination drains it (backpressure). EOF on one side is
// passed on with shutdown(SHUT_WR) once its buffer is flushed (half-close);
// the pair closes when both directions are done or on any error.
//
// With a command, it is spawned once the listeners are ready; SIGTERM and
// SIGINT are forwarded to it; every child is reaped (the relay may be PID 1)
// and the relay exits with the command's status (128+N if killed by signal
// N). Without a command it runs until SIGTERM or SIGINT and exits 0.
//
// --wait-for FILE holds the command back (while the listeners already
// serve) until FILE exists: container sessions start their container while
// the worktree is still being checked out, and create FILE once it is (and
// once their setup script has run through exec). Without --listen it is
// only that gate, for containers without network isolation. An inotify watch on FILE's
// directory wakes the relay when FILE appears (it is created elsewhere, on
// the host, through a bind mount: inotify watches the inode, so it sees
// that); a 250 ms re-check covers a directory inotify cannot watch.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr size_t kBuffer = 64 * 1024;

void say(const std::string& text) {
  const std::string line = "para-relay: " + text + "\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

[[noreturn]] void usage(const std::string& why) {
  say(why);
  say("usage: para-relay --listen 127.0.0.1:PORT [--listen [::1]:PORT] --connect unix:PATH "
      "[--wait-for FILE] [-- CMD ARGS...]");
  std::exit(2);
}

struct Direction {
  std::unique_ptr<char[]> buf{new char[kBuffer]};
  size_t start = 0, end = 0;  // pending bytes are buf[start, end)
  bool eof = false;           // the source said EOF
  bool shut = false;          // the destination was shut down for writing
  bool done() const { return shut; }
};

struct Pair;

// What an epoll event's data points at.
struct Endpoint {
  enum class Kind { listener, signals, tcp, unix_side, gate } kind;
  int fd = -1;
  Pair* pair = nullptr;
};

struct Pair {
  Endpoint tcp{Endpoint::Kind::tcp}, unix_side{Endpoint::Kind::unix_side};
  Direction up;    // tcp -> unix
  Direction down;  // unix -> tcp
  uint32_t tcp_events = 0, unix_events = 0;
  bool failed = false;  // EPOLLERR on either side (a reset): nothing more can move
};

int g_epoll = -1;

void set_events(Endpoint& e, uint32_t& current, uint32_t wanted) {
  if (wanted == current) return;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.ptr = &e;
  epoll_ctl(g_epoll, EPOLL_CTL_MOD, e.fd, &ev);
  current = wanted;
}

void close_pair(Pair* p) {
  ::close(p->tcp.fd);  // close() also removes the fd from epoll
  ::close(p->unix_side.fd);
  delete p;
}

// Moves bytes src -> dst through d; false on an error that ends the pair.
bool pump(int src, int dst, Direction& d) {
  while (true) {
    if (d.start < d.end) {
      const ssize_t n = ::send(dst, d.buf.get() + d.start, d.end - d.start, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return true;
        return false;
      }
      d.start += static_cast<size_t>(n);
      if (d.start < d.end) return true;
      d.start = d.end = 0;
    }
    if (d.eof) {
      if (!d.shut) {
        ::shutdown(dst, SHUT_WR);
        d.shut = true;
      }
      return true;
    }
    const ssize_t n = ::recv(src, d.buf.get(), kBuffer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      return false;
    }
    if (n == 0) {
      d.eof = true;
      continue;  // shut the destination down now that the buffer is empty
    }
    d.end = static_cast<size_t>(n);
  }
}

void service(Pair* p) {
  if (p->failed || !pump(p->tcp.fd, p->unix_side.fd, p->up) ||
      !pump(p->unix_side.fd, p->tcp.fd, p->down)) {
    close_pair(p);
    return;
  }
  if (p->up.done() && p->down.done()) {
    close_pair(p);
    return;
  }
  // Read a source while its buffer is empty; wait for writability while not.
  uint32_t tcp = 0, unix_ev = 0;
  if (!p->up.eof && p->up.start == p->up.end) tcp |= EPOLLIN;
  if (p->down.start < p->down.end) tcp |= EPOLLOUT;
  if (!p->down.eof && p->down.start == p->down.end) unix_ev |= EPOLLIN;
  if (p->up.start < p->up.end) unix_ev |= EPOLLOUT;
  set_events(p->tcp, p->tcp_events, tcp);
  set_events(p->unix_side, p->unix_events, unix_ev);
}

void add(Endpoint& e, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &e;
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, e.fd, &ev);
}

int listen_on(const std::string& spec) {
  // "127.0.0.1:8877" or "[::1]:8877"; numeric only.
  std::string host, port;
  if (!spec.empty() && spec[0] == '[') {
    const size_t close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      usage("bad --listen address '" + spec + "'");
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    const size_t colon = spec.rfind(':');
    if (colon == std::string::npos) usage("bad --listen address '" + spec + "' (HOST:PORT)");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  char* end = nullptr;
  const long port_number = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || port_number < 0 || port_number > 65535) {
    usage("bad port in --listen '" + spec + "'");
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port_number));
    len = sizeof *in;
  } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port_number));
    len = sizeof *in6;
  } else {
    usage("--listen needs a numeric address, not '" + host + "'");
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd >= 0 && ss.ss_family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 4096) != 0) {
    say("cannot listen on " + spec + ": " + std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

void accept_all(int listener, const sockaddr_un& target) {
  while (true) {
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) say(std::string("accept: ") + std::strerror(errno));
      return;
    }
    const int upstream = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // A Unix-socket connect completes at once or fails (EAGAIN: the proxy's
    // backlog is full); either way there is no "in progress" state to wait for.
    if (upstream < 0 ||
        ::connect(upstream, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
      say(std::string("cannot reach the proxy socket ") + target.sun_path + ": " +
          std::strerror(errno));
      ::close(client);
      if (upstream >= 0) ::close(upstream);
      continue;
    }
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* p = new Pair;
    p->tcp.fd = client;
    p->tcp.pair = p;
    p->unix_side.fd = upstream;
    p->unix_side.pair = p;
    p->tcp_events = EPOLLIN;
    p->unix_events = EPOLLIN;
    add(p->tcp, p->tcp_events);
    add(p->unix_side, p->unix_events);
  }
}

pid_t spawn_command(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int r = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (r != 0) {
    say("cannot run " + command[0] + ": " + std::strerror(r));
    std::exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> listens, command;
  std::string connect, wait_for;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      for (int j = i + 1; j < argc; ++j) command.emplace_back(argv[j]);
      if (command.empty()) usage("'--' needs a command after it");
      break;
    }
    if (a == "--help" || a == "-h") usage("forwards loopback TCP to a Unix socket");
    if ((a == "--listen" || a == "--connect") && i + 1 < argc) {
      (a == "--listen" ? listens.emplace_back(argv[++i]) : connect = argv[++i]);
      continue;
    }
    if (a == "--wait-for" && i + 1 < argc) {
      wait_for = argv[++i];
      continue;
    }
    usage("unknown or incomplete argument '" + a + "'");
  }
  if (listens.empty() && wait_for.empty()) usage("--listen is required");
  if (!wait_for.empty() && command.empty()) usage("--wait-for needs a command after '--'");
  sockaddr_un target{};
  target.sun_family = AF_UNIX;
  if (!listens.empty()) {
    if (connect.rfind("unix:", 0) != 0) usage("--connect must be unix:/path/to/proxy.sock");
    const std::string path = connect.substr(5);
    if (path.empty() || path.size() >= sizeof target.sun_path)
      usage("bad socket path '" + path + "'");
    std::memcpy(target.sun_path, path.c_str(), path.size());
  }

  ::signal(SIGPIPE, SIG_IGN);
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGCHLD);
  sigprocmask(SIG_BLOCK, &handled, nullptr);
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  Endpoint signals{Endpoint::Kind::signals, signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC)};
  add(signals, EPOLLIN);

  std::vector<std::unique_ptr<Endpoint>> listeners;
  for (const std::string& spec : listens) {
    listeners.push_back(
        std::make_unique<Endpoint>(Endpoint{Endpoint::Kind::listener, listen_on(spec)}));
    add(*listeners.back(), EPOLLIN);
  }
  bool waiting = !wait_for.empty();
  pid_t child = command.empty() || waiting ? -1 : spawn_command(command);
  Endpoint gate{Endpoint::Kind::gate, -1};
  if (waiting) {
    gate.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    const size_t slash = wait_for.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : wait_for.substr(0, slash + 1);
    if (gate.fd >= 0 &&
        inotify_add_watch(gate.fd, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ATTRIB) >= 0) {
      add(gate, EPOLLIN);
    }
  }

  epoll_event events[256];
  while (true) {
    if (waiting && ::access(wait_for.c_str(), F_OK) == 0) {
      waiting = false;
      // Not closed: closing an inotify fd waits for an SRCU grace period
      // in the kernel (fsnotify_destroy_group), 10-20 ms that would delay
      // the command. It is close-on-exec and goes with the relay.
      if (gate.fd >= 0) epoll_ctl(g_epoll, EPOLL_CTL_DEL, gate.fd, nullptr);
      child = spawn_command(command);
    }
    const int n = epoll_wait(g_epoll, events, 256, waiting ? 250 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      say(std::string("epoll_wait: ") + std::strerror(errno));
      return 1;
    }
    // Pairs closed during this batch must not be touched again: collect
    // them and service each pair at most once per batch.
    std::vector<Pair*> ready;
    for (int i = 0; i < n; ++i) {
      auto* e = static_cast<Endpoint*>(events[i].data.ptr);
      switch (e->kind) {
        case Endpoint::Kind::listener:
          accept_all(e->fd, target);
          break;
        case Endpoint::Kind::gate: {
          char drain[4096];
          while (::read(e->fd, drain, sizeof drain) > 0) {
          }
          break;  // the loop's next turn checks the file
        }
        case Endpoint::Kind::signals: {
          signalfd_siginfo si{};
          while (::read(e->fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            if (si.ssi_signo == SIGCHLD) {
              int status = 0;
              pid_t pid = 0;
              while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {  // we may be PID 1: reap all
                if (pid != child) continue;
                if (WIFEXITED(status)) return WEXITSTATUS(status);
                return 128 + WTERMSIG(status);
              }
            } else if (child > 0) {
              ::kill(child, static_cast<int>(si.ssi_signo));
            } else {
              return waiting ? 128 + static_cast<int>(si.ssi_signo) : 0;
            }
          }
          break;
        }
        case Endpoint::Kind::tcp:
        case Endpoint::Kind::unix_side: {
          if ((events[i].events & EPOLLERR) != 0) e->pair->failed = true;
          bool seen = false;
          for (Pair* p : ready) seen = seen || p == e->pair;
          if (!seen) ready.push_back(e->pair);
          break;
        }
      }
    }
    for (Pair* p : ready) service(p);
  }
}
