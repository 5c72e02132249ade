// Host-side steps around a sandboxed run (declared in launch.h): directories
// and placeholders before, the session branch after (its objects:
// import.cpp). Everything here runs outside the sandbox and treats what the
// agent wrote as untrusted input.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/fs.h"
#include "core/log.h"
#include "sandbox/cache_overlay.h"
#include "sandbox/launch.h"
#include "sandbox/session_git.h"

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
  // A name with an extension is a file (settings.json, CLAUDE.md), the
  // others are directories.
  auto is_file = [](const std::string& path) {
    return path.find('.', path.rfind('/')) != std::string::npos;
  };
  // Earlier versions made ~/.claude/CLAUDE.md a directory: an empty one is
  // turned back into the empty file Claude Code expects.
  for (PathRule& rule : p.protect) {
    std::error_code ec;
    if (rule.path == claude + "/CLAUDE.md" && rule.kind == PathKind::directory &&
        std::filesystem::is_empty(rule.path, ec) && std::filesystem::remove(rule.path, ec)) {
      if (auto r = write_file_atomic(rule.path, "", 0600); !r) return r;
      rule.kind = PathKind::file;
    }
  }
  std::vector<PathRule> still_missing;
  for (PathRule& rule : p.protect_missing) {
    Result<void> made;
    if (!worktree_config.empty() && rule.path == worktree_config) {
      made = write_file_atomic(rule.path, "", 0644);
      rule.kind = PathKind::file;
    } else if (path_within(rule.path, claude) && rule.path != claude) {
      const bool file = is_file(rule.path);
      made = !file                          ? make_dirs(rule.path, 0700)
             : rule.path.ends_with(".json") ? write_file_atomic(rule.path, "{}\n", 0600)
                                            : write_file_atomic(rule.path, "", 0600);
      rule.kind = file ? PathKind::file : PathKind::directory;
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

Result<SyncNotes> sync_session_ref(const Policy& p) {
  SyncNotes notes;
  if (!p.git) return notes;
  const SessionGit& g = *p.git;
  const std::string leaf = g.ref_name.substr(g.ref_name.rfind('/') + 1);
  const std::string private_ref = g.private_refs + "/" + leaf;
  // The branch's value in the sandbox is read before the import: git writes
  // a commit's objects before it moves the ref, so the import then holds
  // them. Read after, it could name a commit another run of the session
  // (the agent beside a para shell) made after the import's listing.
  Result<std::string> inside = read_untrusted_file(private_ref, 4096);
  Result<std::optional<std::string>> imported = import_sandbox_objects(p);
  if (!imported) return fail(imported.error());
  if (*imported) notes.push_back(**imported);
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(g.private_refs, ec)) {
    const std::string rel = entry.path().string().substr(g.private_refs.size() + 1);
    if (rel != leaf && entry.is_regular_file()) {
      log::warn("sandbox") << "session " << p.session << " wrote the ref " << rel
                           << " inside its sandbox; ignored (only " << g.ref_name
                           << " is copied back)";
    }
  }
  Result<std::string> base = read_file(base_file(g), 4096);
  if (!base) return fail(Errc::io, "the sandbox's starting point " + base_file(g) + " is gone");
  const std::string before = trimmed(*base);
  // A value the repository refuses is reported once: the sandbox's copy
  // goes back to the branch's value, so the next run starts from it and
  // finish commits the worktree's files instead of failing on it again.
  // Only if it still holds that value: a run of the session still going
  // may have moved it since, and its work is judged at its own settle.
  auto refuse = [&](const std::string& why) -> Result<SyncNotes> {
    Result<std::string> now = read_untrusted_file(private_ref, 4096);
    const bool unchanged = inside ? now && trimmed(*now) == trimmed(*inside) : !now;
    if (unchanged) {
      if (auto r = write_file_atomic(private_ref, before + "\n", 0644, Sync::replace_only); !r) {
        return fail(r.error());
      }
    }
    notes.push_back(why + "; the branch keeps its value");
    return notes;
  };
  if (!inside) return refuse("the sandbox removed its session branch " + g.ref_name);
  const std::string value = trimmed(*inside);
  if (!is_object_name(value)) {
    return refuse("the sandbox left " + g.ref_name + " with a value that is not an object name");
  }
  if (before == value) return notes;
  Result<Completed> type = git_common(g, {"cat-file", "-t", value});
  if (!type) return fail(type.error());
  if (!type->ok() || trimmed(type->out) != "commit") {
    return refuse("the sandbox set " + g.ref_name + " to " + value +
                  ", which is not a commit in the repository");
  }
  // Every object the new commits need is in the repository (rev-list fails
  // on a missing one, as git's own connectivity check after a fetch does).
  // The import checks no links; this costs a process only when the branch
  // moved.
  Result<Completed> connected =
      git_common(g, {"rev-list", "--objects", "--quiet", value, "--not", before, "--"},
                 GitRun{.timeout = std::chrono::seconds(600)});
  if (!connected) return fail(connected.error());
  if (!connected->ok()) {
    return refuse("the sandbox set " + g.ref_name + " to " + value +
                  ", whose history lacks objects in the repository (git: " +
                  trimmed(connected->err.substr(0, connected->err.find('\n'))) + ")");
  }
  Result<Completed> update = git_common(
      g, {"update-ref", "-m", "para: session branch from the sandbox", g.ref_name, value, before});
  if (!update) return fail(update.error());
  if (!update->ok()) {
    // The branch moved in the repository meanwhile. Once it holds the
    // sandbox's commit (the user merged it, or set the branch to it), the
    // work has arrived: both copies take the branch's value.
    Result<std::string> now = current_ref(g);
    if (!now) return fail(now.error());
    Result<Completed> contained = git_common(g, {"merge-base", "--is-ancestor", value, *now},
                                             GitRun{.timeout = std::chrono::seconds(600)});
    if (!contained) return fail(contained.error());
    if (!contained->ok()) {
      return fail(Errc::conflict,
                  "the session branch " + g.ref_name +
                      " moved in the repository while the sandbox ran, so the sandbox's commit " +
                      value + " was not applied. Bring it into the branch (git stash, then git " +
                      "merge " + value + " in the worktree; or git branch -f " +
                      g.ref_name.substr(std::string("refs/heads/").size()) + " " + value +
                      " to take it instead), then run the command again");
    }
    if (auto r = write_file_atomic(private_ref, *now + "\n", 0644, Sync::replace_only); !r) {
      return fail(r.error());
    }
    if (auto r = write_file_atomic(base_file(g), *now + "\n"); !r) return fail(r.error());
    return notes;
  }
  if (auto r = write_file_atomic(base_file(g), value + "\n"); !r) return fail(r.error());
  return notes;
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
