#include "core/gitdir.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string_view>

#include "core/fs.h"

namespace para {
namespace {

std::optional<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool owned_by_me(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_uid == ::geteuid();
}

// A path read from a git file, made absolute against `base`.
std::optional<std::string> resolve_from(const std::string& base, std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  const std::string path(text);
  return real_path(path.front() == '/' ? path : base + "/" + path);
}

// The shared git directory of a git directory: its commondir file, else itself.
std::optional<std::string> common_dir_of(const std::string& git_dir) {
  Result<std::string> common = read_file(git_dir + "/commondir", 4096);
  return common ? resolve_from(git_dir, *common) : real_path(git_dir);
}

// git's is_git_directory(): HEAD, and refs/ and objects/ in the common directory.
bool looks_like_git_dir(const std::string& dir) {
  if (!is_file(dir + "/HEAD")) return false;
  std::optional<std::string> common = common_dir_of(dir);
  return common && is_dir(*common + "/refs") && is_dir(*common + "/objects");
}

// Config that changes where the work tree is, or makes it bare: then git decides.
bool config_is_plain(const std::string& common_dir) {
  Result<std::string> config = read_file(common_dir + "/config", size_t(1) << 20);
  if (!config) return !path_exists(common_dir + "/config");
  size_t pos = 0;
  const std::string& text = *config;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line(trim(std::string_view(text).substr(pos, end - pos)));
    pos = end + 1;
    for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (line.starts_with("[include")) return false;
    const size_t eq = line.find('=');
    const std::string_view key = trim(std::string_view(line).substr(0, eq));
    const std::string_view value = eq == std::string::npos
                                       ? std::string_view("true")
                                       : trim(std::string_view(line).substr(eq + 1));
    if (key == "worktree" || key == "worktreeconfig") return false;
    if (key == "bare" && value != "false") return false;
  }
  return true;
}

}  // namespace

std::optional<GitDirs> find_git_dirs(const std::string& dir) {
  for (const char* var :
       {"GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_COMMON_DIR"}) {
    if (std::getenv(var) != nullptr) return std::nullopt;
  }
  std::optional<std::string> start = real_path(dir);
  if (!start) return std::nullopt;
  struct stat first;
  if (::stat(start->c_str(), &first) != 0) return std::nullopt;

  std::string here = *start;
  for (;;) {
    const std::string dot_git = join(here, ".git");
    struct stat st;
    if (::lstat(dot_git.c_str(), &st) == 0) {
      GitDirs dirs;
      dirs.toplevel = here;
      if (S_ISDIR(st.st_mode)) {
        if (!looks_like_git_dir(dot_git)) return std::nullopt;
        dirs.git_dir = dot_git;
      } else if (S_ISREG(st.st_mode)) {
        Result<std::string> text = read_file(dot_git, 4096);
        if (!text || !text->starts_with("gitdir:")) return std::nullopt;
        std::optional<std::string> target = resolve_from(here, std::string_view(*text).substr(7));
        if (!target || !looks_like_git_dir(*target)) return std::nullopt;
        dirs.git_dir = *target;
      } else {
        return std::nullopt;  // a symlink or something odd: git knows best
      }
      std::optional<std::string> common = common_dir_of(dirs.git_dir);
      if (!common) return std::nullopt;
      dirs.common_dir = *common;
      if (path_exists(dirs.git_dir + "/config.worktree")) return std::nullopt;
      if (!config_is_plain(dirs.common_dir)) return std::nullopt;
      if (!owned_by_me(dirs.toplevel) || !owned_by_me(dirs.git_dir) ||
          !owned_by_me(dirs.common_dir)) {
        return std::nullopt;
      }
      return dirs;
    }
    if (looks_like_git_dir(here)) return std::nullopt;  // inside a git directory
    if (here == "/") return std::nullopt;
    const std::string up = parent_of(here);
    struct stat parent;
    if (::stat(up.c_str(), &parent) != 0 || parent.st_dev != first.st_dev) return std::nullopt;
    here = up;
  }
}

std::optional<std::string> read_head_branch(const std::string& git_dir) {
  Result<std::string> head = read_file(git_dir + "/HEAD", 4096);
  if (!head) return std::nullopt;
  std::string_view text = trim(*head);
  constexpr std::string_view prefix = "ref: refs/heads/";
  if (!text.starts_with(prefix) || text.size() == prefix.size()) return std::nullopt;
  return std::string(text.substr(prefix.size()));
}

}  // namespace para
