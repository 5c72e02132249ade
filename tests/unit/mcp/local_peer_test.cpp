#include "mcp/local_peer.h"

// Real loopback connections, made by this process and by children that put
// themselves in another user namespace, another PID namespace or another
// user, the way a bubblewrap sandbox or a container does.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace para::mcp {

namespace {

using Verdict = PeerCheck::Verdict;

/// Both ends of an accepted connection, as the server sees them.
struct Ends {
  std::string peer_addr, local_addr;
  int peer_port = 0, local_port = 0;
};

std::string text_of(const sockaddr_storage& a, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    *port = ntohs(v4->sin_port);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    *port = ntohs(v6->sin6_port);
  }
  return buf;
}

/// `address` (an IPv4 or IPv6 literal) and `port` as a socket address.
sockaddr_storage socket_address(const std::string& address, int port, socklen_t* size) {
  sockaddr_storage a{};
  if (address.find(':') == std::string::npos) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    v4->sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1);
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *size = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    v6->sin6_family = AF_INET6;
    REQUIRE(::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1);
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *size = sizeof(sockaddr_in6);
  }
  return a;
}

/// A listening socket on `address` ("::" is dual-stack).
class Listener {
 public:
  explicit Listener(const std::string& address) {
    socklen_t size = 0;
    sockaddr_storage a = socket_address(address, 0, &size);
    fd_ = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (address == "::") {
      const int off = 0;
      ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), size) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    text_of(a, &port_);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Connects to `address`:port from the calling process (children call it
  /// too); returns the client fd, or -1.
  int connect_from_here(const std::string& address) const {
    socklen_t size = 0;
    const sockaddr_storage a = socket_address(address, port_, &size);
    const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), size) != 0) return -1;
    return fd;
  }

  /// Accepts one connection; returns its ends and the server-side fd.
  Ends accept_one(int* server_fd) const {
    sockaddr_storage peer{}, local{};
    socklen_t len = sizeof(peer);
    *server_fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    REQUIRE(*server_fd >= 0);
    len = sizeof(local);
    REQUIRE(::getsockname(*server_fd, reinterpret_cast<sockaddr*>(&local), &len) == 0);
    Ends e;
    e.peer_addr = text_of(peer, &e.peer_port);
    e.local_addr = text_of(local, &e.local_port);
    return e;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

PeerCheck check(const Ends& e) {
  return check_local_peer(e.peer_addr, e.peer_port, e.local_addr, e.local_port);
}

/// Runs `become` in a child (it returns false if the child cannot enter its
/// context: then the child exits 3), then connects from the child and keeps
/// the connection open until `judge` has examined it. Returns its verdict.
PeerCheck check_child(const Listener& listener, const std::function<bool()>& become,
                      const std::function<PeerCheck(const Ends&)>& judge = check) {
  int ready[2], done[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(done, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    ::close(done[1]);
    if (!become()) ::_exit(3);
    const int fd = listener.connect_from_here("127.0.0.1");
    if (fd < 0) ::_exit(4);
    char byte = 'c';
    if (::write(ready[1], &byte, 1) != 1) ::_exit(5);
    (void)::read(done[0], &byte, 1);  // until the parent closes its end
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char byte = 0;
  const bool connected = ::read(ready[0], &byte, 1) == 1;
  PeerCheck verdict{Verdict::unknown, "the child did not connect"};
  int server_fd = -1;
  if (connected) verdict = judge(listener.accept_one(&server_fd));
  ::close(done[1]);
  ::close(ready[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (server_fd >= 0) ::close(server_fd);
  REQUIRE_MESSAGE(connected, "child exit status " << WEXITSTATUS(status));
  CHECK(WEXITSTATUS(status) == 0);
  return verdict;
}

/// In a forked child: enters a new PID namespace and connects from a
/// grandchild inside it (unshare(CLONE_NEWPID) moves only the children).
bool grandchild_in_new_pid_namespace() {
  if (::unshare(CLONE_NEWPID) != 0) return false;
  const pid_t inner = ::fork();
  if (inner < 0) return false;
  if (inner == 0) return true;  // the grandchild goes on to connect
  int status = 0;
  ::waitpid(inner, &status, 0);
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 6);
}

bool root() {
  return ::geteuid() == 0;
}

}  // namespace

TEST_SUITE("mcp/local_peer") {
  TEST_CASE("a client of this very process is in the same context, named by pid and command") {
    Listener listener("127.0.0.1");
    const int client = listener.connect_from_here("127.0.0.1");
    REQUIRE(client >= 0);
    int server = -1;
    const PeerCheck c = check(listener.accept_one(&server));
    CHECK(c.verdict == Verdict::same_context);
    CHECK(c.detail.find("pid " + std::to_string(::getpid()) + " (") == 0);
    CHECK(peer_admitted(c));
    ::close(client);
    ::close(server);
  }

  TEST_CASE("IPv6 loopback, and IPv4 on a dual-stack listener, are looked up as well") {
    Listener v6("::1");
    int client = v6.connect_from_here("::1");
    REQUIRE(client >= 0);
    int server = -1;
    Ends e = v6.accept_one(&server);
    CHECK(e.peer_addr == "::1");
    CHECK(check(e).verdict == Verdict::same_context);
    ::close(client);
    ::close(server);

    Listener dual("::");
    client = dual.connect_from_here("127.0.0.1");
    REQUIRE(client >= 0);
    e = dual.accept_one(&server);
    CHECK(e.peer_addr == "::ffff:127.0.0.1");
    CHECK(check(e).verdict == Verdict::same_context);
    ::close(client);
    ::close(server);
  }

  TEST_CASE("a client in another user namespace, as in every bubblewrap sandbox, is refused") {
    Listener listener("127.0.0.1");
    const PeerCheck c = check_child(listener, [] { return ::unshare(CLONE_NEWUSER) == 0; });
    CHECK(c.verdict == Verdict::other_namespace);
    CHECK(c.detail.find("another user namespace") != std::string::npos);
    CHECK_FALSE(peer_admitted(c));
  }

  TEST_CASE("a client in another PID namespace only, as in a container, is refused" *
            doctest::skip(!root())) {
    Listener listener("127.0.0.1");
    const PeerCheck c = check_child(listener, grandchild_in_new_pid_namespace);
    CHECK(c.verdict == Verdict::other_namespace);
    CHECK(c.detail.find("another PID namespace") != std::string::npos);
    CHECK_FALSE(peer_admitted(c));
  }

  TEST_CASE("a client of another user is refused" * doctest::skip(!root())) {
    Listener listener("127.0.0.1");
    const PeerCheck c =
        check_child(listener, [] { return ::setgid(65534) == 0 && ::setuid(65534) == 0; });
    CHECK(c.verdict == Verdict::other_user);
    CHECK(c.detail.find("uid 65534") != std::string::npos);
    CHECK_FALSE(peer_admitted(c));
  }

  TEST_CASE("a connection whose client already closed, or unparsable addresses, are refused") {
    Listener listener("127.0.0.1");
    const int client = listener.connect_from_here("127.0.0.1");
    REQUIRE(client >= 0);
    int server = -1;
    const Ends e = listener.accept_one(&server);
    ::close(client);
    const PeerCheck closed = check(e);
    CHECK(closed.verdict == Verdict::unknown);
    CHECK_FALSE(peer_admitted(closed));
    ::close(server);

    const PeerCheck garbage = check_local_peer("not-an-address", 1, "127.0.0.1", 2);
    CHECK(garbage.verdict == Verdict::unknown);
    CHECK_FALSE(peer_admitted(garbage));
  }

  TEST_CASE("the caching checker keeps each connection's own verdict") {
    PeerChecker checker;
    const auto cached = [&](const Ends& e) {
      return checker.check(e.peer_addr, e.peer_port, e.local_addr, e.local_port);
    };
    Listener listener("127.0.0.1");
    const int client = listener.connect_from_here("127.0.0.1");
    REQUIRE(client >= 0);
    int server = -1;
    const Ends e = listener.accept_one(&server);
    for (int i = 0; i < 3; ++i) CHECK(cached(e).verdict == Verdict::same_context);
    // Another connection, from another user namespace, is examined afresh.
    const PeerCheck other = check_child(
        listener, [] { return ::unshare(CLONE_NEWUSER) == 0; }, cached);
    CHECK(other.verdict == Verdict::other_namespace);
    CHECK(cached(e).verdict == Verdict::same_context);
    ::close(client);
    ::close(server);
  }
}

}  // namespace para::mcp
