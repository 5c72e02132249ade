// Host-side steps around a sandboxed run (declared in launch.h): directories
// and placeholders before, the session branch after. Everything here runs
// outside the sandbox and treats what the agent wrote as untrusted input.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/fd.h"
#include "core/fs.h"
#include "core/log.h"
#include "sandbox/cache_overlay.h"
#include "sandbox/launch.h"

namespace para::sandbox {
namespace {

namespace fs = std::filesystem;

Result<void> make_private_dir(const std::string& path) {
  if (auto r = make_dirs(path, 0700); !r) return r;
  if (::chmod(path.c_str(), 0700) != 0) {
    return fail(Errc::io, "chmod " + path + ": " + std::strerror(errno), errno);
  }
  return {};
}

// Empties a directory we own (the private ref copies) and recreates it.
Result<void> reset_dir(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(Errc::io, "cannot clear " + path + ": " + ec.message());
  return make_private_dir(path);
}

bool is_object_name(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// How git reads objects in git_common: the repository's store, or (for the
// import) only the sandbox's private one.
struct GitRun {
  std::string object_dir;  // empty: G/objects
  std::optional<std::string> input;
  int input_fd = -1;
  std::chrono::seconds timeout{30};
};

// git --git-dir=G with hooks and fsmonitor off; output parsed, so C locale.
Command git_command(const SessionGit& g, const std::vector<std::string>& args, const GitRun& how) {
  std::vector<std::string> argv = {"git", "--git-dir=" + g.common_dir,
                                   "-c",  "core.hooksPath=/dev/null",
                                   "-c",  "core.fsmonitor=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = current_environment();
  set_env(env, "LC_ALL", "C");
  set_env(env, "GIT_TERMINAL_PROMPT", "0");
  for (const char* name :
       {"GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"}) {
    unset_env(env, name);
  }
  if (!how.object_dir.empty()) set_env(env, "GIT_OBJECT_DIRECTORY", how.object_dir);
  return Command{.argv = std::move(argv),
                 .env = std::move(env),
                 .stdin_data = how.input,
                 .stdin_fd = how.input_fd,
                 .timeout = how.timeout};
}

Result<Completed> git_common(const SessionGit& g, const std::vector<std::string>& args,
                             const GitRun& how = {}) {
  return run(git_command(g, args, how));
}

Result<std::string> git_ok(const SessionGit& g, const std::vector<std::string>& args,
                           const GitRun& how, const std::string& what) {
  Result<Completed> c = git_common(g, args, how);
  if (!c) return fail(c.error());
  if (!c->ok()) {
    return fail(Errc::io, "could not " + what + " (git " + args[0] + ": " +
                              c->err.substr(0, c->err.find('\n')) + ")");
  }
  return c->out;
}

std::string base_file(const SessionGit& g) {
  return g.private_refs.substr(0, g.private_refs.rfind('/')) + "/base";
}

Result<std::string> current_ref(const SessionGit& g) {
  // The loose ref file when it holds a plain object name (no git process);
  // packed or symbolic refs go through git.
  if (Result<std::string> loose = read_file(g.ref_file, 4096); loose) {
    const std::string value = trimmed(*loose);
    if ((value.size() == 40 || value.size() == 64) &&
        value.find_first_not_of("0123456789abcdef") == std::string::npos) {
      return value;
    }
  }
  Result<Completed> c = git_common(g, {"rev-parse", "--verify", "-q", g.ref_name});
  if (!c) return fail(c.error());
  if (!c->ok()) {
    return fail(Errc::not_found,
                "the session branch " + g.ref_name + " does not exist in " + g.common_dir);
  }
  return trimmed(c->out);
}

}  // namespace

std::string base_path(const Policy& p) {
  return p.git ? base_file(*p.git) : std::string();
}

Result<void> prepare_host(Policy& p, Sync base) {
  const std::string runtime = p.tmpdir.substr(0, p.tmpdir.rfind('/'));
  if (auto r = make_private_dir(runtime); !r) return r;
  if (auto r = make_private_dir(p.tmpdir); !r) return r;
  if (p.git) {
    const SessionGit& g = *p.git;
    for (const PathRule& w : p.writable) {
      if (w.reason.starts_with("this session's status")) {
        if (auto r = make_dirs(w.path, 0755); !r) return r;
      }
    }
    Result<std::string> value = current_ref(g);
    if (!value) return fail(value.error());
    const std::string leaf = g.ref_name.substr(g.ref_name.rfind('/') + 1);
    if (auto r = reset_dir(g.private_refs); !r) return r;
    if (auto r = reset_dir(g.private_logs); !r) return r;
    // The sandbox's copy of the branch and its reflog are made again on
    // every start and git itself does not fsync ref updates: no fsync.
    constexpr Sync copy = Sync::replace_only;
    if (auto r = write_file_atomic(g.private_refs + "/" + leaf, *value + "\n", 0644, copy); !r)
      return r;
    if (Result<std::string> log = read_file(g.reflog_file); log) {
      if (auto r = write_file_atomic(g.private_logs + "/" + leaf, *log, 0644, copy); !r) return r;
    }
    // The value the sandbox starts from: sync_session_ref swaps against it,
    // so a branch moved on the host meanwhile is never overwritten. Durable
    // (here or by the caller) before the agent runs: without it the agent's
    // commits could not be brought back.
    if (auto r = write_file_atomic(base_file(g), *value + "\n", 0644, base); !r) return r;
    // The private object store: one per session (PolicyInputs::objects_dir),
    // kept across runs; the import empties it of loose objects. Its info/ is
    // the mount point of the read-only alternates.
    if (auto r = make_private_dir(g.objects); !r) return r;
    if (auto r = make_dirs(g.objects + "/info", 0755); !r) return r;
    if (auto r = make_private_dir(g.objects_info); !r) return r;
    if (auto r = write_file_atomic(g.objects_info + "/alternates",
                                   std::string(kSharedObjectsInside) + "\n", 0644, copy);
        !r) {
      return r;
    }
    // Mount points under G for the private directories (git creates these
    // itself on the first reflog; creating them early changes nothing).
    for (const PrivateBind& b : p.private_binds) {
      if (!path_within(b.target, g.common_dir)) continue;
      if (auto r = make_dirs(b.target, 0755); !r) return r;
    }
  }
  if (auto r = prepare_cache_overlays(p.cache_overlays); !r) return r;
  // ~/.claude is writable, its settings and hook directories are not: they
  // must exist so that they can be mounted read-only. So must the worktree's
  // config.worktree, which git reads (on the host too) once the repository
  // sets extensions.worktreeConfig; empty, it changes nothing.
  const std::string claude = p.home + "/.claude";
  if (auto r = make_private_dir(claude); !r) return r;
  const std::string worktree_config =
      p.git ? p.git->worktree_gitdir + "/config.worktree" : std::string();
  std::vector<PathRule> still_missing;
  for (PathRule& rule : p.protect_missing) {
    Result<void> made;
    if (!worktree_config.empty() && rule.path == worktree_config) {
      made = write_file_atomic(rule.path, "", 0644);
      rule.kind = PathKind::file;
    } else if (path_within(rule.path, claude) && rule.path != claude) {
      const bool json_file = rule.path.ends_with(".json");
      made = json_file ? write_file_atomic(rule.path, "{}\n", 0600) : make_dirs(rule.path, 0700);
      rule.kind = json_file ? PathKind::file : PathKind::directory;
    } else {
      still_missing.push_back(rule);
      continue;
    }
    if (!made) return made;
    rule.reason += " (placeholder created by para)";
    p.protect.push_back(rule);
  }
  p.protect_missing = std::move(still_missing);
  for (PathRule& w : p.writable) {
    if (w.kind == PathKind::directory && !path_exists(w.path)) {
      if (auto r = make_private_dir(w.path); !r) return r;
    }
  }
  return {};
}

namespace {

// Whether the private store holds an object (a file below a fan-out or
// pack directory; info/ is the mount point of the alternates): a run that
// wrote none costs no git process.
bool holds_objects(const std::string& store) {
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(store, ec)) {
    if (dir.path().filename() == "info") continue;
    if (!dir.is_directory(ec)) return true;
    if (fs::directory_iterator(dir.path(), ec) != fs::directory_iterator()) return true;
  }
  return false;
}

// Removes the loose objects `names` (one per line) from the private store
// once the repository has them: the store then holds only what the next
// import must look at. A sandbox still running finds them in its alternate.
void forget_loose_objects(const std::string& store, const std::string& names) {
  for (size_t at = 0; at < names.size();) {
    const size_t end = std::min(names.find('\n', at), names.size());
    const std::string name = names.substr(at, end - at);
    if (name.size() > 2) ::unlink((store + "/" + name.substr(0, 2) + "/" + name.substr(2)).c_str());
    at = end + 1;
  }
}

}  // namespace

Result<void> import_sandbox_objects(const Policy& p) {
  if (!p.git || p.git->objects.empty() || !holds_objects(p.git->objects)) return {};
  const SessionGit& g = *p.git;
  const GitRun private_store{.object_dir = g.objects};
  Result<std::string> listed =
      git_ok(g, {"cat-file", "--batch-all-objects", "--batch-check=%(objectname)"}, private_store,
             "list the sandbox's objects");
  if (!listed) return fail(listed.error());
  if (listed->empty()) return {};
  // Only names the repository lacks: a name it has keeps its content.
  Result<std::string> known = git_ok(g, {"cat-file", "--batch-check=%(objectname)"},
                                     GitRun{.input = *listed}, "check the sandbox's objects");
  if (!known) return fail(known.error());
  std::string missing;
  for (size_t at = 0; at < known->size();) {
    const size_t end = std::min(known->find('\n', at), known->size());
    const std::string line = known->substr(at, end - at);
    if (line.ends_with(" missing")) missing += line.substr(0, line.find(' ')) + "\n";
    at = end + 1;
  }
  if (missing.empty()) {
    forget_loose_objects(g.objects, *listed);
    return {};
  }
  // Packed from the private store (pack-objects, its names from a file),
  // streamed into index-pack, which names every object by hashing its
  // content: a file that claims a name it does not hash to enters the
  // repository under its true name, and the object it pretended to be stays
  // missing. --strict also checks each object's form and that every object
  // it names is in the pack or the repository. No delta search and fast
  // compression (what loose objects get): git gc repacks later.
  const std::string list = g.objects_info.substr(0, g.objects_info.rfind('/')) + "/import-" +
                           std::to_string(::getpid());  // a shell may import at the same time
  if (auto r = write_file_atomic(list, missing, 0600, Sync::replace_only); !r) return r;
  Fd names(::open(list.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::error_code ec;
  fs::remove(list, ec);
  int fds[2];
  if (!names.valid() || ::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("cannot set up the object import: ") + std::strerror(errno),
                errno);
  }
  Fd pack_out(fds[0]), pack_in(fds[1]);
  const std::chrono::seconds limit(600);
  Command pack = git_command(g, {"pack-objects", "-q", "--stdout", "--window=0", "--compression=1"},
                             GitRun{.object_dir = g.objects});
  Result<pid_t> packer = spawn(SpawnOptions{
      .argv = pack.argv, .env = pack.env, .stdin_fd = names.get(), .stdout_fd = pack_in.get()});
  if (!packer) return fail(packer.error());
  pack_in.reset();  // index-pack sees the end of the pack when pack-objects exits
  Result<Completed> indexed =
      run(git_command(g, {"index-pack", "--stdin", "--strict"},
                      GitRun{.input_fd = pack_out.get(), .timeout = limit}));
  pack_out.reset();  // pack-objects gets EPIPE if index-pack stopped early
  Result<ExitStatus> packed = wait_for(*packer, limit);
  if (!packed) {
    ::kill(*packer, SIGKILL);
    (void)wait_for(*packer, std::nullopt);
    return fail(packed.error());
  }
  if (!indexed) return fail(indexed.error());
  if (packed->exit_code != 0) {
    return fail(Errc::io, "could not pack the sandbox's objects (git pack-objects exited with " +
                              std::to_string(packed->exit_code) + ")");
  }
  if (!indexed->ok()) {
    return fail(Errc::io, "could not import the sandbox's objects (git index-pack: " +
                              indexed->err.substr(0, indexed->err.find('\n')) + ")");
  }
  forget_loose_objects(g.objects, *listed);
  return {};
}

Result<void> sync_session_ref(const Policy& p) {
  if (!p.git) return {};
  const SessionGit& g = *p.git;
  if (auto r = import_sandbox_objects(p); !r) return r;
  const std::string leaf = g.ref_name.substr(g.ref_name.rfind('/') + 1);
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(g.private_refs, ec)) {
    const std::string rel = entry.path().string().substr(g.private_refs.size() + 1);
    if (rel != leaf && entry.is_regular_file()) {
      log::warn("sandbox") << "session " << p.session << " wrote the ref " << rel
                           << " inside its sandbox; ignored (only " << g.ref_name
                           << " is copied back)";
    }
  }
  Result<std::string> inside = read_untrusted_file(g.private_refs + "/" + leaf, 4096);
  if (!inside) {
    return fail(Errc::invalid_argument, "the sandbox removed its session branch " + g.ref_name +
                                            "; the repository keeps its value");
  }
  const std::string value = trimmed(*inside);
  if (!is_object_name(value)) {
    return fail(Errc::invalid_argument, "the sandbox left " + g.ref_name +
                                            " with a value that is not an object name; ignored");
  }
  Result<std::string> base = read_file(base_file(g), 4096);
  if (!base) return fail(Errc::io, "the sandbox's starting point " + base_file(g) + " is gone");
  const std::string before = trimmed(*base);
  if (before == value) return {};
  Result<Completed> type = git_common(g, {"cat-file", "-t", value});
  if (!type) return fail(type.error());
  if (!type->ok() || trimmed(type->out) != "commit") {
    return fail(Errc::invalid_argument, "the sandbox set " + g.ref_name + " to " + value +
                                            ", which is not a commit in the repository; ignored");
  }
  // Every object the new commits need is in the repository (rev-list fails
  // on a missing one, as git's own connectivity check after a fetch does).
  // The import's --strict implies it; this costs a process only when the
  // branch moved, and holds for objects that were never imported.
  Result<Completed> connected =
      git_common(g, {"rev-list", "--objects", "--quiet", value, "--not", before, "--"},
                 GitRun{.timeout = std::chrono::seconds(600)});
  if (!connected) return fail(connected.error());
  if (!connected->ok()) {
    return fail(Errc::invalid_argument,
                "the sandbox set " + g.ref_name + " to " + value +
                    ", whose history lacks objects in the repository; ignored (git: " +
                    trimmed(connected->err.substr(0, connected->err.find('\n'))) + ")");
  }
  Result<Completed> update = git_common(
      g, {"update-ref", "-m", "para: session branch from the sandbox", g.ref_name, value, before});
  if (!update) return fail(update.error());
  if (!update->ok()) {
    return fail(Errc::conflict, "the session branch " + g.ref_name +
                                    " moved in the repository while the sandbox ran; its commit " +
                                    value + " was not applied (git: " + trimmed(update->err) + ")");
  }
  if (auto r = write_file_atomic(base_file(g), value + "\n"); !r) return r;
  return {};
}

Result<bool> restore_session_head(const Policy& p) {
  if (!p.git) return false;
  const std::string head = p.git->worktree_gitdir + "/HEAD";
  const std::string want = "ref: " + p.git->ref_name + "\n";
  Result<std::string> now = read_untrusted_file(head, 4096);
  if (now && *now == want) return false;
  if (auto r = write_file_atomic(head, want); !r) return fail(r.error());
  log::warn("sandbox") << "session " << p.session << ": HEAD pointed elsewhere; reset to "
                       << p.git->ref_name;
  return true;
}

std::vector<std::string> host_git_argv(const Policy& p, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git"};
  if (p.git) {
    argv.push_back("--git-dir=" + p.git->worktree_gitdir);
    argv.push_back("--work-tree=" + p.workdir);
  } else {
    argv.insert(argv.end(), {"-C", p.workdir});
  }
  argv.insert(argv.end(), {"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace para::sandbox
