#include "sandbox/bwrap.h"

#include <algorithm>

#include "sandbox/cache_overlay.h"

namespace para::sandbox {
namespace {

// Rank of each kind at equal depth: the later, the stronger.
int rank(MountKind kind) {
  switch (kind) {
    case MountKind::ro_bind:
      return 1;  // reveal (protect ops get rank 4 via the caller's tag)
    case MountKind::bind:
      return 2;
    case MountKind::pin:
      return 3;
    case MountKind::tmpfs:
      return 0;
    case MountKind::hide_dir:
    case MountKind::hide_file:
      return 6;
    case MountKind::dev:
    case MountKind::proc:
      return -1;
  }
  return 0;
}

size_t depth(const std::string& path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

struct Ranked {
  MountOp op;
  int rank;
};

// The writable root (deepest) that contains `path`, or nullptr.
const PathRule* containing_root(const Policy& p, const std::string& path) {
  const PathRule* best = nullptr;
  for (const PathRule& w : p.writable) {
    if (w.path != path && path_within(path, w.path) &&
        (best == nullptr || w.path.size() > best->path.size())) {
      best = &w;
    }
  }
  return best;
}

}  // namespace

const char* mount_kind_name(MountKind kind) {
  switch (kind) {
    case MountKind::ro_bind:
      return "ro-bind";
    case MountKind::bind:
      return "bind";
    case MountKind::pin:
      return "pin";
    case MountKind::tmpfs:
      return "tmpfs";
    case MountKind::hide_dir:
      return "hide-dir";
    case MountKind::hide_file:
      return "hide-file";
    case MountKind::dev:
      return "dev";
    case MountKind::proc:
      return "proc";
  }
  return "?";
}

BwrapPlan bwrap_plan(const Policy& p, const std::vector<std::string>& command) {
  BwrapPlan plan;
  plan.share_net = p.network == NetworkMode::open;
  plan.refuse_unix_sockets = p.network != NetworkMode::proxied;
  plan.chdir = p.workdir;

  std::vector<Ranked> ops;
  for (const PathRule& h : p.hidden) ops.push_back({{MountKind::tmpfs, "", h.path, h.reason}, 0});
  for (const PathRule& r : p.reveal) {
    ops.push_back({{MountKind::ro_bind, r.path, r.path, r.reason}, rank(MountKind::ro_bind)});
  }
  for (const PathRule& w : p.writable) {
    std::string source = w.path;
    for (const CacheOverlay& o : p.cache_overlays) {
      if (o.cache == w.path) source = cache_overlay_merged(o);
    }
    ops.push_back({{MountKind::bind, source, w.path, w.reason}, rank(MountKind::bind)});
  }
  plan.cache_overlays = p.cache_overlays;
  // Protected and hidden paths inside a writable root: the path itself, and
  // every directory between it and the root pinned as a mount point so that
  // renaming an ancestor (then recreating the path) fails with EBUSY.
  std::vector<std::string> pinned;
  const auto pin_ancestors = [&](const std::string& path) {
    const PathRule* root = containing_root(p, path);
    if (root == nullptr) return;
    // A pin binds the host's directory read-write: inside a tool cache that
    // would undo the copy-on-write layer. Nothing there needs one: renaming
    // a directory of the host's cache fails (EXDEV) and writes stay private.
    for (const CacheOverlay& o : p.cache_overlays) {
      if (o.cache == root->path) return;
    }
    for (std::string a = path.substr(0, path.rfind('/')); a.size() > root->path.size();
         a = a.substr(0, a.rfind('/'))) {
      if (std::find(pinned.begin(), pinned.end(), a) != pinned.end()) continue;
      // Inside a protected directory nothing can be renamed, and a pin (a
      // read-write bind) there would make that part writable again.
      if (std::any_of(p.protect.begin(), p.protect.end(), [&](const PathRule& r) {
            return path_within(a, r.path) && containing_root(p, r.path) != nullptr;
          })) {
        continue;
      }
      pinned.push_back(a);
      ops.push_back({{MountKind::pin, a, a, "ancestor of a protected path (no rename)"},
                     rank(MountKind::pin)});
    }
  };
  for (const PathRule& r : p.protect) {
    if (containing_root(p, r.path) == nullptr) continue;  // read-only already
    pin_ancestors(r.path);
    ops.push_back({{MountKind::ro_bind, r.path, r.path, r.reason}, 4});
  }
  for (const PrivateBind& b : p.private_binds) {
    ops.push_back(
        {{b.read_only ? MountKind::ro_bind : MountKind::bind, b.source, b.target, b.reason}, 5});
  }
  for (const PathRule& d : p.deny_read) {
    pin_ancestors(d.path);
    const MountKind kind =
        d.kind == PathKind::directory ? MountKind::hide_dir : MountKind::hide_file;
    ops.push_back(
        {{kind, kind == MountKind::hide_file ? "/dev/null" : "", d.path, d.reason}, rank(kind)});
  }
  std::stable_sort(ops.begin(), ops.end(), [](const Ranked& a, const Ranked& b) {
    const size_t da = depth(a.op.target), db = depth(b.op.target);
    if (da != db) return da < db;
    return a.rank < b.rank;
  });

  plan.mounts.push_back({MountKind::ro_bind, "/", "/", "the host's files, read-only"});
  plan.mounts.push_back({MountKind::dev, "", "/dev", "a minimal /dev"});
  plan.mounts.push_back(
      {MountKind::proc, "", "/proc", "a fresh /proc: only the sandbox's processes"});
  for (Ranked& r : ops) plan.mounts.push_back(std::move(r.op));

  // para's own files at fixed places under the (hidden, fresh) /run.
  if (!p.para_bin.empty()) {
    plan.mounts.push_back({MountKind::ro_bind, p.para_bin, kParaBinInside,
                           "para itself, so that `para status` works inside"});
  }
  plan.command = command;
  if (p.network == NetworkMode::proxied) {
    if (!p.relay_bin.empty()) {
      plan.mounts.push_back(
          {MountKind::ro_bind, p.relay_bin, kRelayInside, "the relay to the session proxy"});
    }
    if (!p.proxy_socket.empty()) {
      plan.mounts.push_back({MountKind::bind, p.proxy_socket, kProxySocketInside,
                             "the session proxy's socket: the only way out"});
    }
    plan.command = {kRelayInside,
                    "--listen",
                    "127.0.0.1:" + std::to_string(p.proxy_port),
                    "--connect",
                    std::string("unix:") + kProxySocketInside,
                    "--"};
    plan.command.insert(plan.command.end(), command.begin(), command.end());
  }
  return plan;
}

std::vector<std::string> render_bwrap(const BwrapPlan& plan, const BwrapFds& fds) {
  const auto fd_text = [](int fd) { return fd >= 0 ? std::to_string(fd) : std::string("FD"); };
  std::vector<std::string> a = {"--die-with-parent", "--new-session", "--unshare-all"};
  if (plan.share_net) a.push_back("--share-net");
  // A user namespace of our own, so that --disable-userns can forbid more
  // of them inside; no capabilities, so no mount, umount or ptrace either.
  for (const char* f : {"--unshare-user", "--disable-userns", "--cap-drop", "ALL"}) {
    a.emplace_back(f);
  }
  a.emplace_back("--seccomp");
  a.push_back(fd_text(fds.seccomp));
  if (fds.json_status >= 0) {
    a.emplace_back("--json-status-fd");
    a.push_back(std::to_string(fds.json_status));
  }
  for (const MountOp& m : plan.mounts) {
    switch (m.kind) {
      case MountKind::ro_bind:
      case MountKind::hide_file:
        a.insert(a.end(), {"--ro-bind", m.source, m.target});
        break;
      case MountKind::bind:
      case MountKind::pin:
        a.insert(a.end(), {"--bind", m.source, m.target});
        break;
      case MountKind::tmpfs:
        a.insert(a.end(), {"--tmpfs", m.target});
        break;
      case MountKind::hide_dir:
        a.insert(a.end(), {"--tmpfs", m.target, "--remount-ro", m.target});
        break;
      case MountKind::dev:
        a.insert(a.end(), {"--dev", m.target});
        break;
      case MountKind::proc:
        a.insert(a.end(), {"--proc", m.target});
        break;
    }
  }
  a.insert(a.end(), {"--chdir", plan.chdir, "--"});
  a.insert(a.end(), plan.command.begin(), plan.command.end());
  return a;
}

std::vector<std::string> bwrap_argv(const Policy& policy, const std::vector<std::string>& command,
                                    const BwrapFds& fds) {
  return render_bwrap(bwrap_plan(policy, command), fds);
}

}  // namespace para::sandbox
