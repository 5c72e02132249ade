#include "session/git.h"

#include <filesystem>

#include "core/fs.h"
#include "core/gitdir.h"

namespace para::session {
namespace {

const std::string& git_program() {
  static const std::string program = [] {
    Result<std::string> found = find_program("git");
    return found ? *found : std::string();
  }();
  return program;
}

std::vector<std::string> git_env(const GitOptions& options) {
  std::vector<std::string> env = current_environment();
  // Variables that would redirect git away from the target we name.
  for (const char* name : {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                           "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_PREFIX",
                           "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES"}) {
    unset_env(env, name);
  }
  set_env(env, "GIT_TERMINAL_PROMPT", "0");
  set_env(env, "GIT_OPTIONAL_LOCKS", "0");
  set_env(env, "LC_ALL", "C");
  for (const std::string& kv : options.extra_env) {
    const size_t eq = kv.find('=');
    set_env(env, kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  return env;
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (out.size() > 80) {
      out += " ...";
      break;
    }
    out += (out.empty() ? "" : " ") + (a.size() > 40 ? a.substr(0, 40) + "..." : a);
  }
  return out;
}

std::string first_line_trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Result<Completed> git_run(const GitTarget& where, const std::vector<std::string>& args,
                          const GitOptions& options) {
  if (git_program().empty()) {
    return fail(Errc::unavailable, "git is not installed; install it (apt-get install git)");
  }
  std::vector<std::string> argv = {git_program()};
  if (!where.git_dir.empty()) {
    argv.push_back("--git-dir=" + where.git_dir);
    argv.push_back("--work-tree=" + where.work_tree);
  } else {
    argv.insert(argv.end(), {"-C", where.dir});
  }
  // Command-line config outranks every file, including ones an agent wrote.
  argv.insert(argv.end(),
              {"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c",
               "core.quotePath=false", "-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false"});
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = git_env(options);
  if (!where.git_dir.empty()) {
    // A worktree's admin directory is <common>/worktrees/<name>, and its
    // commondir file, which the agent may have rewritten, would otherwise
    // decide which config (filters, fsmonitor) this git reads.
    const std::filesystem::path admin(where.git_dir);
    if (admin.parent_path().filename() == "worktrees") {
      set_env(env, "GIT_COMMON_DIR", admin.parent_path().parent_path().string());
    }
  }
  Command cmd{.argv = std::move(argv),
              .env = std::move(env),
              .cwd = where.git_dir.empty() ? std::string() : where.work_tree,
              .stdin_data = options.stdin_data,
              .timeout = options.timeout};
  Result<Completed> done = run(cmd);
  if (!done) {
    if (done.error().code == Errc::timeout) {
      return fail(Errc::timeout, "git " + joined(args) + " timed out");
    }
    return fail(done.error());
  }
  return done;
}

Result<std::string> git_out(const GitTarget& where, const std::vector<std::string>& args,
                            const GitOptions& options) {
  Result<Completed> done = git_run(where, args, options);
  if (!done) return fail(done.error());
  if (!done->ok()) {
    return fail(Errc::tool_failed,
                "git " + joined(args) +
                    " failed: " + first_line_trimmed(done->err.empty() ? done->out : done->err));
  }
  std::string out = std::move(done->out);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<void> git_ok(const GitTarget& where, const std::vector<std::string>& args,
                    const GitOptions& options) {
  Result<std::string> r = git_out(where, args, options);
  if (!r) return fail(r.error());
  return {};
}

Result<RepoLocation> git_discover(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(Errc::not_found, "the directory " + dir + " does not exist");
  }
  RepoLocation loc;
  if (std::optional<GitDirs> found = find_git_dirs(dir)) {
    loc.common_dir = found->common_dir;
    loc.toplevel = found->toplevel;
  } else {
    Result<Completed> done = git_run(GitTarget::repo(dir), {"rev-parse", "--path-format=absolute",
                                                            "--git-common-dir", "--show-toplevel"});
    if (!done) return fail(done.error());
    if (!done->ok()) {
      return fail(Errc::not_found, dir +
                                       " is not inside a git repository; run para from a git "
                                       "repository (or create one with git init)");
    }
    const std::string& out = done->out;
    const size_t nl = out.find('\n');
    if (nl == std::string::npos) {
      return fail(Errc::not_found, dir +
                                       " is inside a bare git repository or a .git directory; "
                                       "run para from a work tree");
    }
    loc.common_dir = out.substr(0, nl);
    loc.toplevel = first_line_trimmed(out.substr(nl + 1));
  }
  if (loc.toplevel.empty()) {
    return fail(Errc::not_found, dir + " is not inside a git work tree; run para from one");
  }
  const std::filesystem::path common(loc.common_dir);
  if (common.filename() != ".git") {
    return fail(Errc::invalid_argument,
                "the repository's git directory " + loc.common_dir +
                    " is not a .git directory inside a work tree; para needs a normal clone");
  }
  loc.main_root = common.parent_path().string();
  loc.in_linked_worktree = loc.toplevel != loc.main_root;
  return loc;
}

Result<std::optional<std::string>> git_main_branch(const std::string& common_dir,
                                                   const GitTarget& main) {
  // The main work tree's HEAD is <common>/HEAD. A plain "ref: refs/heads/B"
  // whose branch has a commit answers without a git process.
  if (std::optional<std::string> branch = read_head_branch(common_dir)) {
    if (git_read_branch(common_dir, *branch)) return branch;
  }
  return git_current_branch(main);
}

Result<std::optional<std::string>> git_current_branch(const GitTarget& where) {
  // One call, three answers: "refs/heads/<b>" on a branch, "HEAD" when
  // detached, a failure when HEAD names no commit yet.
  Result<Completed> head =
      git_run(where, {"rev-parse", "--verify", "-q", "--symbolic-full-name", "HEAD"});
  if (!head) return fail(head.error());
  if (!head->ok()) {
    return fail(Errc::conflict,
                "the repository has no commits yet; make a first commit "
                "(git commit --allow-empty -m init) and try again");
  }
  const std::string ref = first_line_trimmed(head->out);
  if (ref.rfind("refs/heads/", 0) != 0) return std::optional<std::string>();
  return std::optional<std::string>(ref.substr(11));
}

bool git_branch_exists(const std::string& common_dir, const std::string& branch) {
  // The files git keeps refs in (no git process: this runs on every start).
  const std::string ref = "refs/heads/" + branch;
  if (path_exists(common_dir + "/" + ref)) return true;
  Result<std::string> packed = read_file(common_dir + "/packed-refs", size_t(256) << 20);
  if (!packed) return false;
  const std::string needle = " " + ref + "\n";
  return packed->find(needle) != std::string::npos;
}

std::optional<std::string> git_read_branch(const std::string& common_dir,
                                           const std::string& branch) {
  auto object_name = [](std::string_view text) -> std::optional<std::string> {
    if (text.size() != 40 && text.size() != 64) return std::nullopt;
    if (text.find_first_not_of("0123456789abcdef") != std::string_view::npos) return std::nullopt;
    return std::string(text);
  };
  const std::string ref = "refs/heads/" + branch;
  if (Result<std::string> loose = read_file(common_dir + "/" + ref, 4096); loose) {
    std::string_view text = *loose;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    return object_name(text);
  }
  Result<std::string> packed = read_file(common_dir + "/packed-refs", size_t(256) << 20);
  if (!packed) return std::nullopt;
  const std::string needle = " " + ref + "\n";
  const size_t at = packed->find(needle);
  if (at == std::string::npos) return std::nullopt;
  const size_t line = packed->rfind('\n', at);
  const size_t start = line == std::string::npos ? 0 : line + 1;
  return object_name(std::string_view(*packed).substr(start, at - start));
}

Result<std::optional<std::string>> git_resolve(const GitTarget& where, const std::string& ref) {
  Result<Completed> done = git_run(where, {"rev-parse", "--verify", "-q", ref + "^{commit}"});
  if (!done) return fail(done.error());
  if (!done->ok()) return std::optional<std::string>();
  return std::optional<std::string>(first_line_trimmed(done->out));
}

Result<std::vector<WorktreeEntry>> git_worktrees(const GitTarget& repo) {
  Result<std::string> out = git_out(repo, {"worktree", "list", "--porcelain", "-z"});
  if (!out) return fail(out.error());
  std::vector<WorktreeEntry> entries;
  WorktreeEntry current;
  bool open = false;
  size_t start = 0;
  const std::string& s = *out;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    const std::string line = s.substr(start, end - start);
    start = end + 1;
    if (line.empty()) {
      if (open) entries.push_back(current);
      current = WorktreeEntry{};
      open = false;
      continue;
    }
    open = true;
    if (line.rfind("worktree ", 0) == 0)
      current.path = line.substr(9);
    else if (line.rfind("HEAD ", 0) == 0)
      current.head = line.substr(5);
    else if (line.rfind("branch ", 0) == 0)
      current.branch = line.substr(7);
    else if (line.rfind("locked", 0) == 0)
      current.locked = true;
    else if (line.rfind("prunable", 0) == 0)
      current.prunable = true;
  }
  if (open) entries.push_back(current);
  return entries;
}

Result<std::vector<std::string>> git_branches(const GitTarget& repo, const std::string& prefix) {
  Result<std::string> out =
      git_out(repo, {"for-each-ref", "--format=%(refname)", "refs/heads/" + prefix});
  if (!out) return fail(out.error());
  std::vector<std::string> names;
  size_t start = 0;
  while (start < out->size()) {
    size_t end = out->find('\n', start);
    if (end == std::string::npos) end = out->size();
    std::string ref = out->substr(start, end - start);
    if (ref.rfind("refs/heads/", 0) == 0) names.push_back(ref.substr(11));
    start = end + 1;
  }
  return names;
}

Result<void> git_add_all(const GitTarget& work_tree, const GitOptions& options) {
  Result<std::string> staged = git_out(work_tree, {"ls-files", "--stage", "-z"}, options);
  if (!staged) return fail(staged.error());
  std::vector<std::string> args = {"add", "--all", "--", ":/"};
  size_t start = 0;
  while (start < staged->size()) {
    size_t end = staged->find('\0', start);
    if (end == std::string::npos) end = staged->size();
    const std::string_view entry(staged->data() + start, end - start);
    start = end + 1;
    const size_t tab = entry.find('\t');
    if (entry.rfind("160000 ", 0) == 0 && tab != std::string_view::npos) {
      args.push_back(":(top,exclude,literal)" + std::string(entry.substr(tab + 1)));
    }
  }
  return git_ok(work_tree, args, options);
}

Result<std::vector<StatusEntry>> git_status(const GitTarget& work_tree) {
  // "dirty": a submodule's own changes are not looked at, because that runs
  // git inside it (see git_add_all); a moved submodule commit still shows.
  Result<std::string> out = git_out(
      work_tree,
      {"status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=dirty"});
  if (!out) return fail(out.error());
  std::vector<StatusEntry> entries;
  size_t start = 0;
  const std::string& s = *out;
  while (start + 3 <= s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    StatusEntry e{s.substr(start, 2), s.substr(start + 3, end - start - 3)};
    start = end + 1;
    // Renames and copies carry the source path as a second field.
    if (e.code[0] == 'R' || e.code[0] == 'C') {
      size_t next = s.find('\0', start);
      start = next == std::string::npos ? s.size() : next + 1;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace para::session
