#include "session/repo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/fs.h"
#include "sandbox/explain.h"

namespace para::session {
namespace {

namespace fs = std::filesystem;

bool contains_line(const std::string& text, const std::string& line) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(start, end - start);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    if (l == line) return true;
    start = end + 1;
  }
  return false;
}

Result<void> append_lines(const std::string& path, const std::string& existing,
                          const std::string& block) {
  std::string text = existing;
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += block;
  return write_file_atomic(path, text);
}

}  // namespace

std::string Repo::runtime_dir(const std::string& name) const {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp == '/') ? tmp : "/tmp";
  std::string dir = sandbox::default_runtime_dir(base, ::getuid(), root, name);
  // Room for "/proxy.sock" within sun_path (108 bytes).
  if (dir.size() + 12 > 100) dir = sandbox::default_runtime_dir("/tmp", ::getuid(), root, name);
  return dir;
}

std::optional<std::string> Repo::worktree_admin_dir(const std::string& worktree) const {
  std::error_code ec;
  const fs::path admin_root = fs::path(common_dir) / "worktrees";
  // git records the path it was given; para's and a symlinked worktrees
  // directory's spellings differ, so compare resolved paths too.
  const fs::path wanted = fs::weakly_canonical(worktree, ec);
  for (const auto& entry : fs::directory_iterator(admin_root, ec)) {
    Result<std::string> gitdir = read_untrusted_file((entry.path() / "gitdir").string(), 4096);
    if (!gitdir) continue;
    std::string text = *gitdir;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text == worktree + "/.git") return entry.path().string();
    std::error_code resolve;
    const fs::path registered = fs::weakly_canonical(fs::path(text).parent_path(), resolve);
    if (!resolve && !wanted.empty() && registered == wanted) return entry.path().string();
  }
  return std::nullopt;
}

std::string current_dir() {
  std::error_code ec;
  fs::path p = fs::current_path(ec);
  return ec ? std::string() : p.string();
}

Result<Repo> open_repo(const std::string& cwd) {
  Result<RepoLocation> loc = git_discover(cwd.empty() ? current_dir() : cwd);
  if (!loc) return fail(loc.error());
  std::error_code ec;
  return open_known_repo(fs::weakly_canonical(loc->main_root, ec).string(),
                         fs::weakly_canonical(loc->common_dir, ec).string());
}

Result<Repo> open_known_repo(const std::string& root, const std::string& common_dir) {
  Repo repo;
  repo.root = root;
  repo.common_dir = common_dir;
  Result<Config> config = load_config(repo.root);
  if (!config) return fail(config.error());
  repo.config = std::move(*config);
  return repo;
}

bool Repo::inside_para_dir(const std::string& path) const {
  const std::string own = para_dir() + "/";
  return fs::path(path).lexically_normal().string().compare(0, own.size(), own) == 0;
}

bool Repo::owns_state_dir() const {
  // .para/ is para's own; any other place only when para made it.
  return inside_para_dir(state_dir()) || path_exists(state_owner_marker());
}

std::optional<std::string> session_from_cwd(const Repo& repo, const std::string& cwd) {
  std::error_code ec;
  const std::string dir = fs::weakly_canonical(cwd.empty() ? current_dir() : cwd, ec).string();
  // Both sides resolved: the worktrees directory may be a symlink.
  const std::string prefix = fs::weakly_canonical(repo.subtrees_dir(), ec).string() + "/";
  if (dir.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::string rest = dir.substr(prefix.size());
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) rest.resize(slash);
  if (rest.empty()) return std::nullopt;
  return rest;
}

Result<void> ensure_para_dirs(const Repo& repo) {
  // The marker matters only outside .para/ (see owns_state_dir).
  const bool new_state_dir = !path_exists(repo.state_dir()) && !repo.owns_state_dir();
  for (const std::string& dir : {repo.para_dir(), repo.state_dir(), repo.subtrees_dir()}) {
    if (auto r = make_dirs(dir); !r) return fail(r.error());
  }
  if (new_state_dir) {
    if (auto r = write_file_atomic(repo.state_owner_marker(),
                                   "para made this directory; para clean may remove stray files "
                                   "in it\n");
        !r) {
      return fail(r.error());
    }
  }
  const std::string ignore = repo.para_dir() + "/.gitignore";
  if (!path_exists(ignore)) {
    if (auto r = write_file_atomic(ignore,
                                   "# para's working files; only the shared settings are tracked\n"
                                   "*\n!.gitignore\n!config.json\n!config.toml\n!setup.sh\n"
                                   "!setup-docker.sh\n!setup-worktree.sh\n!Dockerfile.custom\n");
        !r) {
      return fail(r.error());
    }
  }
  return {};
}

namespace {

// The repository's .gitignore ("" when there is none).
Result<std::string> read_gitignore(const Repo& repo) {
  const std::string gitignore = repo.root + "/.gitignore";
  if (!path_exists(gitignore)) return std::string();
  return read_file(gitignore, 4 << 20);
}

}  // namespace

Result<void> ensure_ignored(const Repo& repo, const std::string& pattern) {
  const std::string gitignore = repo.root + "/.gitignore";
  Result<std::string> existing = read_gitignore(repo);
  if (!existing) return fail(existing.error());
  const std::string& text = *existing;
  if (contains_line(text, pattern) || contains_line(text, "/" + pattern)) return {};
  return append_lines(gitignore, text, pattern + "\n");
}

Result<void> ensure_ignores(const Repo& repo) {
  const std::string gitignore = repo.root + "/.gitignore";
  Result<std::string> current = read_gitignore(repo);
  if (!current) return fail(current.error());
  const std::string& text = *current;
  const bool ignores_para = contains_line(text, ".para") || contains_line(text, ".para/") ||
                            contains_line(text, ".para/*") || contains_line(text, "/.para");
  if (!(ignores_para && contains_line(text, "!.para/config.json"))) {
    if (auto r = append_lines(gitignore, text,
                              "\n# Para directories and state files\n.para/*\n"
                              "!.para/Dockerfile.custom\n!.para/config.json\n!.para/config.toml\n");
        !r) {
      return fail(r.error());
    }
  }
  // Files para writes into worktrees must never reach a session's commit.
  const std::string exclude = repo.common_dir + "/info/exclude";
  if (auto r = make_dirs(repo.common_dir + "/info"); !r) return fail(r.error());
  std::string ex;
  if (path_exists(exclude)) {
    Result<std::string> existing = read_file(exclude, 4 << 20);
    if (!existing) return fail(existing.error());
    ex = *existing;
  }
  if (!contains_line(ex, "/CLAUDE.local.md")) {
    if (auto r = append_lines(exclude, ex,
                              "# para: files it writes into session worktrees\n/CLAUDE.local.md\n"
                              "/.para/sessions/\n");
        !r) {
      return fail(r.error());
    }
  }
  return {};
}

}  // namespace para::session
