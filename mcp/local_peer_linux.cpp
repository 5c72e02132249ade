#include "mcp/local_peer.h"

// The client socket is found by its address pair with one exact
// SOCK_DIAG_BY_FAMILY request (no dump): the kernel looks it up as it would
// for an arriving packet, and answers its owner uid, inode and cookie. Its
// holders are the processes with a /proc/<pid>/fd link "socket:[inode]".
// A process whose descriptors are read is opened once, and its holding,
// namespaces and name are read through that descriptor, so a pid reused by
// another process mid-scan reads as gone, never as the new process.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/fd.h"

namespace para::mcp {

namespace {

using Verdict = PeerCheck::Verdict;

/// A numeric address as the kernel stores it, IPv4-mapped IPv6 unmapped.
struct Address {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
  unsigned scope = 0;  // interface index of a link-local IPv6 address

  bool loopback() const {
    if (family == AF_INET) return bytes[0] == 127;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(bytes, one, 16) == 0;
  }
  size_t size() const { return family == AF_INET ? 4 : 16; }
};

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  std::string host = text;
  if (const size_t pct = host.find('%'); pct != std::string::npos) {
    a.scope = ::if_nametoindex(host.substr(pct + 1).c_str());
    host.resize(pct);
  }
  if (::inet_pton(AF_INET, host.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
    return a;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    a.family = AF_INET;
    std::memcpy(a.bytes, v6.s6_addr + 12, 4);
  } else {
    a.family = AF_INET6;
    std::memcpy(a.bytes, v6.s6_addr, 16);
  }
  return a;
}

/// Whether `a` is one of this machine's addresses (then a connection from
/// it came from this network namespace, whatever the interface).
bool is_own_address(const Address& a) {
  if (a.loopback()) return true;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return true;  // cannot tell: treat as local (checked)
  bool own = false;
  for (ifaddrs* i = list; i != nullptr && !own; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != a.family) continue;
    const void* bytes =
        a.family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
            : &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
    own = std::memcmp(bytes, a.bytes, a.size()) == 0;
  }
  ::freeifaddrs(list);
  return own;
}

struct ClientSocket {
  uint64_t cookie = 0;
  uint64_t inode = 0;
  uid_t uid = 0;
};

/// The socket whose local end is `client` and remote end `server`. nullopt
/// when there is none in this network namespace; an error text when the
/// kernel could not be asked.
std::optional<ClientSocket> find_client_socket(const Address& client, int client_port,
                                               const Address& server, int server_port,
                                               std::string* error) {
  Fd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.valid()) {
    *error = std::string("sock_diag: ") + std::strerror(errno);
    return std::nullopt;
  }
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  inet_diag_req_v2& r = message.request;
  r.sdiag_family = static_cast<uint8_t>(client.family);
  r.sdiag_protocol = IPPROTO_TCP;
  r.idiag_states = ~0u;
  r.id.idiag_sport = htons(static_cast<uint16_t>(client_port));
  r.id.idiag_dport = htons(static_cast<uint16_t>(server_port));
  std::memcpy(r.id.idiag_src, client.bytes, client.size());
  std::memcpy(r.id.idiag_dst, server.bytes, server.size());
  r.id.idiag_if = client.scope;
  r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl.get(), &message, sizeof(message), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) != static_cast<ssize_t>(sizeof(message))) {
    *error = std::string("sock_diag: ") + std::strerror(errno);
    return std::nullopt;
  }
  alignas(nlmsghdr) char buffer[8192];
  const ssize_t n = ::recv(nl.get(), buffer, sizeof(buffer), 0);
  if (n < 0) {
    *error = std::string("sock_diag: ") + std::strerror(errno);
    return std::nullopt;
  }
  auto* reply = reinterpret_cast<nlmsghdr*>(buffer);
  if (!NLMSG_OK(reply, static_cast<unsigned>(n))) {
    *error = "sock_diag: a truncated reply";
    return std::nullopt;
  }
  if (reply->nlmsg_type == NLMSG_ERROR) {
    const int code = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
    if (code != ENOENT) *error = std::string("sock_diag: ") + std::strerror(code);
    return std::nullopt;
  }
  if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      reply->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    *error = "sock_diag: an unexpected reply";
    return std::nullopt;
  }
  const auto* found = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(reply));
  if (found->idiag_inode == 0) return std::nullopt;  // closed: a TIME_WAIT or orphan entry
  ClientSocket s;
  s.cookie = uint64_t(found->id.idiag_cookie[0]) | (uint64_t(found->id.idiag_cookie[1]) << 32);
  s.inode = found->idiag_inode;
  s.uid = found->idiag_uid;
  return s;
}

/// A namespace's identity: the target of its /proc link, "user:[4026531837]"
/// (reading the link costs half of what stat() of it does).
using NamespaceId = std::string;

std::optional<NamespaceId> namespace_of(int proc_dir, const char* kind) {
  char link[64];
  const ssize_t n = ::readlinkat(proc_dir, kind, link, sizeof(link));
  if (n <= 0 || n == sizeof(link)) return std::nullopt;
  return NamespaceId(link, static_cast<size_t>(n));
}

/// "pid 42 (curl)", the command name reduced to printable ASCII (a process
/// names itself).
std::string describe(int proc_dir, const std::string& pid) {
  std::string comm;
  if (Fd f(::openat(proc_dir, "comm", O_RDONLY | O_CLOEXEC)); f.valid()) {
    char buf[64];
    const ssize_t n = ::read(f.get(), buf, sizeof(buf));
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') break;
      comm += (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
    }
  }
  return "pid " + pid + " (" + comm + ")";
}

/// Whether the process open at `proc_dir` holds `target` ("socket:[N]").
bool holds(int proc_dir, const std::string& target) {
  const int fd_dir = ::openat(proc_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_dir < 0) return false;
  DIR* dir = ::fdopendir(fd_dir);
  if (dir == nullptr) {
    ::close(fd_dir);
    return false;
  }
  bool found = false;
  char link[64];
  while (!found) {
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (e->d_name[0] == '.') continue;
    const ssize_t n = ::readlinkat(fd_dir, e->d_name, link, sizeof(link));
    found = n == static_cast<ssize_t>(target.size()) && target.compare(0, n, link, n) == 0;
  }
  ::closedir(dir);
  return found;
}

/// Where a process runs, compared with this one.
enum class Context { ours, other_user_namespace, other_pid_namespace, unreadable };

struct Self {
  uid_t uid = 0;
  NamespaceId user, pid;
};

/// By its namespaces only: one or two links of `pid`'s in /proc. Processes
/// of other users cannot be read unless this one is root.
Context namespaces_of(int proc, const std::string& pid, const Self& self) {
  const auto user = namespace_of(proc, (pid + "/ns/user").c_str());
  if (!user) return Context::unreadable;  // gone, or not ours to read
  if (*user != self.user) return Context::other_user_namespace;
  const auto pid_ns = namespace_of(proc, (pid + "/ns/pid").c_str());
  if (!pid_ns) return Context::unreadable;
  return *pid_ns == self.pid ? Context::ours : Context::other_pid_namespace;
}

/// The pids in /proc, `first` (when listed) leading, then newest first.
std::vector<pid_t> pids_to_scan(DIR* proc, pid_t first) {
  std::vector<pid_t> pids;
  while (const dirent* e = ::readdir(proc)) {
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') pids.push_back(std::atoi(e->d_name));
  }
  std::sort(pids.begin(), pids.end(), [first](pid_t a, pid_t b) {
    return a == first ? b != first : (b == first ? false : a > b);
  });
  return pids;
}

/// Checks the processes holding the socket: one in other namespaces, or of
/// another user, refuses it; otherwise one of ours admits it. Each
/// process's namespaces are read first, and its descriptors only when they
/// can change the verdict: a foreign process's always, one in our
/// namespaces until a holder is found (the kernel lets only root read
/// another user's, and such a process holds our user's socket only if one
/// of ours passed it on). `hint` is tried first and becomes the holder found.
///
/// `known` (optional) keeps each pid's namespaces from one check to the
/// next, so that a steady process table costs no reads. A stale entry
/// errs safely: a holder is always re-read through its own descriptor, and
/// a process read as ours is skipped only once one of ours holds the
/// socket, which a sandboxed process cannot arrange.
PeerCheck check_holders(const ClientSocket& socket, pid_t* hint,
                        std::unordered_map<pid_t, int>* known) {
  Self self{::geteuid(), {}, {}};
  if (socket.uid != self.uid) {
    return {Verdict::other_user, "the socket belongs to uid " + std::to_string(socket.uid)};
  }
  Fd own(::open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const auto own_user = own.valid() ? namespace_of(own.get(), "ns/user") : std::nullopt;
  const auto own_pid = own.valid() ? namespace_of(own.get(), "ns/pid") : std::nullopt;
  if (!own_user || !own_pid) return {Verdict::unknown, "cannot read this process's namespaces"};
  self.user = *own_user;
  self.pid = *own_pid;

  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return {Verdict::unknown, "cannot list /proc"};
  const std::vector<pid_t> pids = pids_to_scan(proc, *hint);
  std::unordered_map<pid_t, int> now;  // what `known` becomes: listed pids only
  const auto remember = [&] {
    if (known != nullptr) known->swap(now);
  };
  const std::string target = "socket:[" + std::to_string(socket.inode) + "]";
  PeerCheck result{Verdict::unknown, "no process holds the connection (it closed)"};
  for (const pid_t pid : pids) {
    const std::string name = std::to_string(pid);
    const auto kept = known != nullptr ? known->find(pid) : now.end();
    const Context seen = known != nullptr && kept != known->end()
                             ? static_cast<Context>(kept->second)
                             : namespaces_of(::dirfd(proc), name, self);
    // Unreadable is not kept: it may be a moment of a process's exec.
    if (seen != Context::unreadable) now[pid] = static_cast<int>(seen);
    const bool confirmed = result.verdict == Verdict::same_context;
    if (seen == Context::unreadable || (seen == Context::ours && confirmed)) continue;
    // From here on through one descriptor: a pid reused meanwhile reads as
    // gone, never as the new process.
    Fd dir(::openat(::dirfd(proc), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid() || !holds(dir.get(), target)) continue;
    struct stat st;
    const Context c = namespaces_of(dir.get(), ".", self);
    if (c == Context::unreadable || ::fstat(dir.get(), &st) != 0) continue;
    const std::string who = describe(dir.get(), name);
    if (c == Context::ours && st.st_uid == self.uid) {
      result = {Verdict::same_context, who};
      *hint = pid;
      continue;
    }
    ::closedir(proc);
    remember();
    if (c == Context::ours) {
      return {Verdict::other_user, who + " runs as uid " + std::to_string(st.st_uid)};
    }
    return {Verdict::other_namespace, who + " runs in another " +
                                          (c == Context::other_pid_namespace ? "PID" : "user") +
                                          " namespace (a sandbox or a container)"};
  }
  ::closedir(proc);
  remember();
  return result;
}

struct Lookup {
  std::optional<ClientSocket> socket;
  PeerCheck check;  // the verdict when there is no socket to examine
};

Lookup look_up(const std::string& peer_addr, int peer_port, const std::string& local_addr,
               int local_port) {
  const auto peer = parse_address(peer_addr);
  const auto local = parse_address(local_addr);
  if (!peer || !local || peer->family != local->family) {
    return {std::nullopt,
            {Verdict::unknown, "unparsable addresses " + peer_addr + ", " + local_addr}};
  }
  std::string error;
  auto socket = find_client_socket(*peer, peer_port, *local, local_port, &error);
  if (socket) return {socket, {}};
  if (!error.empty()) return {std::nullopt, {Verdict::unknown, error}};
  if (!is_own_address(*peer)) return {std::nullopt, {Verdict::remote, peer_addr}};
  return {std::nullopt, {Verdict::unknown, "the connection closed before it could be checked"}};
}

}  // namespace

bool can_check_local_peers() {
  return true;
}

PeerCheck check_local_peer(const std::string& peer_addr, int peer_port,
                           const std::string& local_addr, int local_port) {
  Lookup l = look_up(peer_addr, peer_port, local_addr, local_port);
  pid_t hint = 0;
  return l.socket ? check_holders(*l.socket, &hint, nullptr) : l.check;
}

PeerCheck PeerChecker::check(const std::string& peer_addr, int peer_port,
                             const std::string& local_addr, int local_port) {
  Lookup l = look_up(peer_addr, peer_port, local_addr, local_port);
  if (!l.socket) return l.check;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(l.socket->cookie); it != cache_.end()) return it->second;
  }
  PeerCheck c;
  {
    std::lock_guard lock(scan_mutex_);
    c = check_holders(*l.socket, &last_holder_, &contexts_);
  }
  if (c.verdict == Verdict::unknown) return c;  // may be transient: ask again next time
  std::lock_guard lock(mutex_);
  if (cache_.size() >= 4096) cache_.clear();  // connections are short-lived; start over
  cache_[l.socket->cookie] = c;
  return c;
}

}  // namespace para::mcp
