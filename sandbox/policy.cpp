#include "sandbox/policy.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <string_view>

// Theory of operation. build_policy() answers, for one sandboxed command,
// "which paths can it write, which must stay read-only although they lie in
// a writable root, which are hidden, and what environment does it get". It
// only reads the filesystem through FileSystemView (kinds, directory
// listings, realpath), so unit tests describe hosts as maps.
//
// The order of concerns, each a section below: validate the layout, pick the
// network mode, hide the directories where host sockets live, list the
// writable roots, list what is protected inside them (fixed paths of the
// session layout plus names found by a bounded scan), list read-denied
// secrets, then the environment (host sockets and secret-looking names
// removed, unless forwarded). Renderers decide how to enforce each list.

namespace para::sandbox {
namespace {

// Names protected at every depth inside writable roots. Each is code or
// configuration that some host program runs or obeys later: git (hooks,
// config), shells, direnv, Claude Code, editors. Order is the explain order.
const std::vector<std::string> kProtectedNames = {
    ".git/hooks",
    ".git/config",
    ".git/info",
    ".husky",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".config/fish",
    ".envrc",
    ".gitconfig",
    ".config/git",
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/commands",
    ".claude/agents",
    ".claude/hooks",
    ".claude/skills",
    ".claude/plugins",
    ".vscode",
    ".idea",
};

// Credential stores hidden by default (sandbox.deny_read replaces the list).
const std::vector<std::string> kDefaultDenyRead = {
    "~/.ssh",
    "~/.aws",
    "~/.gnupg",
    "~/.config/gh",
    "~/.config/hub",
    "~/.config/gcloud",
    "~/.config/op",
    "~/.azure",
    "~/.docker",
    "~/.kube",
    "~/.netrc",
    "~/.git-credentials",
    "~/.npmrc",
    "~/.pypirc",
    "~/.cargo/credentials",
    "~/.cargo/credentials.toml",
    "~/.vault-token",
    "~/.password-store",
    "~/.local/share/keyrings",
    "~/.terraform.d/credentials.tfrc.json",
    "~/.config/git/credentials",  // git credential-store's other default file
    "~/.config/containers/auth.json",
    "~/.config/rclone",
    "~/.config/doctl",
    "~/.s3cfg",
    "~/.boto",
    "~/.oci",
    "~/.pgpass",
    "~/.my.cnf",
    "~/.m2/settings.xml",
    "~/.m2/settings-security.xml",
    "~/.gradle/gradle.properties",
    "~/.cache/huggingface/token",
    "~/.config/huggingface/token",
    // Shell and REPL histories: commands typed with secrets in them.
    "~/.bash_history",
    "~/.zsh_history",
    "~/.local/share/fish/fish_history",
    "~/.python_history",
    "~/.node_repl_history",
    "~/.psql_history",
    "~/.mysql_history",
    // Agent and engine sockets outside the hidden socket directories
    // (1Password's SSH agent, Rancher Desktop, Colima, Lima).
    "~/.1password",
    "~/.rd",
    "~/.colima",
    "~/.lima",
    "~/Library/Keychains",
    // Jupyter servers' connection files: a token for code execution on loopback.
    "~/.local/share/jupyter/runtime",
    "~/Library/Jupyter/runtime",
};

// Tool caches that are writable when they exist: copy-on-write on Linux
// (CacheOverlay), shared on macOS.
const std::vector<std::string> kCaches = {
    "~/.cache",     "~/.npm",    "~/.cargo/registry", "~/.cargo/git",
    "~/go/pkg/mod", "~/.ccache", "~/.m2/repository",  "~/.gradle/caches",
};

// Directories where host daemons put their sockets (docker.sock, D-Bus,
// ssh-agent, tmux, X11): each becomes an empty tmpfs inside.
const std::vector<std::string> kHiddenDirs = {"/tmp", "/var/tmp", "/run"};

// Variables that name host sockets or displays; the sandbox cannot reach
// what they name, so they are removed rather than left dangling.
const std::vector<std::string> kUnsetVars = {
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
    "DOCKER_HOST",
    "XDG_RUNTIME_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "TMUX",
    "TMUX_PANE",
    "STY",
    "PARA_MCP_AUTH_TOKEN",  // would let the sandbox call para's MCP tools
};

// Parts of a variable's name (upper-cased) that say its value is a secret:
// the agent could send it to any domain it may reach, so it is removed
// unless forwarded. Only names are looked at, never values. AUTH is
// matched apart (secret_looking_name) so that GIT_AUTHOR_NAME stays.
const std::vector<std::string> kSecretNameParts = {
    "TOKEN",   "SECRET",      "PASSWORD",   "PASSWD", "CREDENTIAL",       "API_KEY",
    "PRIVKEY", "APIKEY",      "COOKIE",     "BEARER", "CONNECTIONSTRING", "CONNECTION_STRING",
    "JWT",     "PRIVATE_KEY", "ACCESS_KEY",
};

// Whole parts of a name (split at '_') that say the same, in a name of two
// parts or more: MYSQL_PWD, SMTP_PASS, GH_PAT; not PWD, OLDPWD or
// GIT_ASKPASS. KEY counts only as the last part, a version or encoding
// aside: STRIPE_KEY, ENCRYPTION_KEY_V2, DEPLOY_KEY_B64, but not SSH_KEY_PATH.
const std::vector<std::string_view> kSecretWholeParts = {"PWD", "PASS", "PASSPHRASE", "PAT"};

// Prefixes of well-known token formats (GitHub, GitLab, Slack, npm, PyPI,
// Hugging Face, Stripe, Google, AWS access key ids). A value starting with
// one, long enough and made of token characters only, is a secret whatever
// its variable is called (secret_looking_value also knows URLs with a
// password and PEM private keys).
struct TokenShape {
  std::string_view prefix;
  size_t min_length;
};
constexpr TokenShape kTokenShapes[] = {
    {"ghp_", 36},        {"gho_", 36},   {"ghu_", 36},  {"ghs_", 36},  {"ghr_", 36},
    {"github_pat_", 40}, {"glpat-", 26}, {"xoxb-", 20}, {"xoxp-", 20}, {"xoxa-", 20},
    {"xoxs-", 20},       {"npm_", 36},   {"pypi-", 40}, {"hf_", 30},   {"sk_live_", 20},
    {"rk_live_", 20},    {"AIza", 39},   {"AKIA", 20},  {"ASIA", 20},  {"sk-", 32},
};

// What the agents themselves authenticate with, kept although the names
// look secret; also what containers get by default (session/container.cpp).
// para also passed GITHUB_TOKEN and PERPLEXITY_API_KEY; neither is passed
// here. GITHUB_TOKEN: the proxy allows github.com, where a token can push
// to any of the user's repositories or create gists. PERPLEXITY_API_KEY:
// not the agent's own. The user opts in with sandbox.forward_env
// (docker.forward_env_keys for containers).
const std::vector<std::string> kDefaultForwardEnv = {
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
};

// Claude Code's directory name for a project: its path with every
// character other than a letter or digit turned into '-'.
std::string claude_project_name(const std::string& path) {
  std::string name = path;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return name;
}

constexpr size_t kMaxClaudeProjects = 2000;  // bound on the mounts for project memories

constexpr int kScanDepth = 4;           // directories below a writable root
constexpr size_t kScanMaxDirs = 20000;  // bound on the scan's work
const std::set<std::string> kScanSkip = {"node_modules", ".git", ".hg", ".svn"};

class HostFileSystem final : public FileSystemView {
 public:
  PathKind kind(const std::string& path) const override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return PathKind::missing;
    if (S_ISREG(st.st_mode)) return PathKind::file;
    if (S_ISDIR(st.st_mode)) return PathKind::directory;
    if (S_ISLNK(st.st_mode)) return PathKind::symlink;
    return PathKind::other;
  }
  std::vector<std::string> children(const std::string& dir) const override {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (const dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      out.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string resolve(const std::string& path) const override {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : std::string();
  }
};

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

Result<void> check_absolute(const std::string& what, const std::string& path, bool required) {
  if (path.empty()) {
    if (!required) return {};
    return fail(Errc::invalid_argument, "sandbox policy: " + what + " is required");
  }
  const auto bad = [&](const std::string& why) {
    return fail(Errc::invalid_argument, "sandbox policy: " + what + " '" + path + "' " + why);
  };
  if (path[0] != '/') return bad("is not an absolute path");
  if (path.find('\0') != std::string::npos) return bad("contains a NUL byte");
  if (path.size() > 1 && path.back() == '/') return bad("ends with '/'");
  if (path.find("//") != std::string::npos) return bad("contains '//'");
  if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
      path.ends_with("/.") || path.ends_with("/..")) {
    return bad("contains '.' or '..' components");
  }
  return {};
}

std::string expand_home(const std::string& entry, const std::string& home) {
  if (entry == "~") return home;
  if (entry.starts_with("~/")) return home + entry.substr(1);
  return entry;
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  const std::string prefix = key + "=";
  for (const std::string& kv : env) {
    if (kv.compare(0, prefix.size(), prefix) == 0) return kv.substr(prefix.size());
  }
  return {};
}

// Collects rules while keeping each path once.
class RuleList {
 public:
  explicit RuleList(std::vector<PathRule>& out) : out_(out) {}
  bool add(const std::string& path, PathKind kind, const std::string& reason) {
    for (const PathRule& r : out_) {
      if (r.path == path) return false;
    }
    out_.push_back(PathRule{path, kind, reason});
    return true;
  }

 private:
  std::vector<PathRule>& out_;
};

struct Builder {
  const PolicyInputs& in;
  const FileSystemView& fs;
  Policy p;
  std::vector<std::string> scan_roots;  // writable roots searched for protected names

  PathKind kind(const std::string& path) const { return fs.kind(path); }

  bool inside_any(const std::string& path, const std::vector<PathRule>& roots) const {
    return std::any_of(roots.begin(), roots.end(),
                       [&](const PathRule& r) { return path_within(path, r.path); });
  }

  // A writable root is used only if it exists as a directory (or a file for
  // single files like ~/.claude.json); a symlink is refused with a note
  // because the renderers would disagree about where it leads.
  void add_writable(const std::string& path, const std::string& reason, bool required = false) {
    const PathKind k = kind(path);
    if (k == PathKind::directory || k == PathKind::file) {
      RuleList(p.writable).add(path, k, reason);
    } else if (k == PathKind::symlink) {
      p.notes.push_back(path +
                        " is a symlink and stays read-only; list its target in "
                        "sandbox.extra_writable to make it writable");
    } else if (required) {
      p.notes.push_back(path + " does not exist yet; prepare_host creates it");
      RuleList(p.writable).add(path, PathKind::directory, reason);
    }
  }

  // The first problem add_protect() met; list_layout_protect() returns it.
  std::optional<Error> layout_problem;

  void add_protect(const std::string& path, const std::string& reason) {
    const PathKind k = kind(path);
    if (k == PathKind::missing) {
      RuleList(p.protect_missing).add(path, k, reason);
      return;
    }
    const auto root = std::find_if(p.writable.begin(), p.writable.end(),
                                   [&](const PathRule& w) { return path_within(path, w.path); });
    if (k != PathKind::symlink || root == p.writable.end()) {
      RuleList(p.protect).add(path, k, reason);  // a symlink outside them is read-only anyway
      return;
    }
    if (auto r = protect_inside(root->path, path, k, reason); !r && !layout_problem) {
      layout_problem = r.error();
    }
  }

  Result<void> validate() {
    if (auto r = check_absolute("repo_root", in.repo_root, true); !r) return r;
    if (auto r = check_absolute("git_common_dir", in.git_common_dir, true); !r) return r;
    if (auto r = check_absolute("worktree", in.worktree, true); !r) return r;
    if (auto r = check_absolute("runtime_dir", in.runtime_dir, true); !r) return r;
    if (auto r = check_absolute("home", in.home, true); !r) return r;
    if (auto r = check_absolute("worktree_gitdir", in.worktree_gitdir, false); !r) return r;
    if (auto r = check_absolute("proxy_socket", in.proxy_socket, false); !r) return r;
    if (auto r = check_absolute("para_bin", in.para_bin, false); !r) return r;
    if (auto r = check_absolute("relay_bin", in.relay_bin, false); !r) return r;
    if (!in.session.empty()) {
      if (auto r = validate_session_name(in.session); !r) return r;
      if (auto r = check_absolute("state_dir", in.state_dir, true); !r) return r;
      if (in.branch_prefix.empty() || in.branch_prefix.find('/') != std::string::npos ||
          in.branch_prefix.starts_with(".")) {
        return fail(Errc::invalid_argument, "sandbox policy: branch prefix '" + in.branch_prefix +
                                                "' must be one path segment");
      }
    }
    if (in.proxy_port < 1 || in.proxy_port > 65535) {
      return fail(Errc::invalid_argument, "sandbox policy: proxy port " +
                                              std::to_string(in.proxy_port) +
                                              " is not between 1 and 65535");
    }
    if (kind(in.worktree) != PathKind::directory) {
      return fail(Errc::invalid_argument,
                  "sandbox policy: the worktree " + in.worktree + " is not a directory");
    }
    return {};
  }

  void hide_socket_dirs() {
    for (const std::string& dir : kHiddenDirs) {
      if (kind(dir) == PathKind::directory) {
        RuleList(p.hidden).add(dir, PathKind::directory,
                               "host sockets (docker.sock, D-Bus, ssh-agent, tmux, X11) live here; "
                               "the sandbox gets an empty one");
      }
    }
    hide_other_runtime_dirs();
    // What the sandbox must still see although it lies under a hidden dir.
    const std::vector<std::pair<std::string, std::string>> keep = {
        {in.repo_root, "the repository (read-only)"},
        {in.git_common_dir, "the git directory (read-only)"},
        {in.home, "the home directory (read-only)"},
    };
    for (const auto& [path, reason] : keep) {
      for (const PathRule& h : p.hidden) {
        if (path != h.path && path_within(path, h.path)) {
          RuleList(p.reveal).add(path, kind(path), reason);
        }
      }
    }
  }

  // Every session's runtime directory sits beside this one, in
  // <tmp>/para-<uid>/: their proxy sockets (each with its own allowlist),
  // temp files and cache layers. Under /tmp that is hidden already; with
  // TMPDIR elsewhere the parent is hidden here, and this session's own parts
  // are bound back on top. Never when that would cover what the sandbox works in.
  void hide_other_runtime_dirs() {
    const std::string root = in.runtime_dir.substr(0, in.runtime_dir.rfind('/'));
    if (root.empty() || inside_any(root, p.hidden) || kind(root) != PathKind::directory) {
      return;
    }
    for (const std::string& needed : {in.worktree, in.repo_root, in.git_common_dir, in.home}) {
      if (!needed.empty() && path_within(needed, root)) return;
    }
    RuleList(p.hidden).add(root, PathKind::directory,
                           "other sessions' runtime directories (their proxy sockets, temp "
                           "files and cache layers); the sandbox gets an empty one");
  }

  void list_writable() {
    add_writable(in.worktree, "the worktree", true);
    add_writable(p.tmpdir, "the session's temp directory (TMPDIR)", true);
    if (p.git) {
      add_writable(in.state_dir + "/" + in.session, "this session's status directory (para status)",
                   true);
      add_writable(p.git->worktree_gitdir, "this worktree's git metadata (HEAD, index, logs)");
    } else {
      p.notes.push_back("the git directory " + in.git_common_dir +
                        " is read-only here, so git commits fail; para sessions get a writable "
                        "session branch");
    }
    add_writable(in.home + "/.claude", "Claude Code's state (settings and hooks stay protected)",
                 true);
    add_writable(in.home + "/.claude.json", "Claude Code's configuration file");
    for (const std::string& cache : kCaches) add_cache(cache);
    if (!in.darwin_user_temp_dir.empty()) {
      add_writable(in.darwin_user_temp_dir, "macOS per-user temp directory (confstr)");
    }
    if (!in.darwin_user_cache_dir.empty()) {
      add_writable(in.darwin_user_cache_dir, "macOS per-user cache directory (confstr)");
    }
  }

  // A tool cache is writable copy-on-write: the session's layer lives in
  // T/caches/<name>, named after the cache ("~/.cargo/registry" ->
  // "cargo-registry") so that a resumed session finds its own writes.
  void add_cache(const std::string& entry) {
    const std::string path = expand_home(entry, in.home);
    if (path.find_first_of(",:\\") != std::string::npos) {
      p.notes.push_back(path +
                        " stays read-only: its name holds a ',', ':' or '\\', which an "
                        "overlay mount cannot name");
      return;
    }
    if (kind(path) == PathKind::file) return;  // not a cache directory
    add_writable(path, "tool cache");
    if (p.writable.empty() || p.writable.back().path != path) return;
    std::string name = entry.substr(entry.find('/') + 1);
    if (name.starts_with('.')) name.erase(0, 1);
    std::replace(name.begin(), name.end(), '/', '-');
    p.cache_overlays.push_back({path, in.runtime_dir + "/caches/" + name});
  }

  // A cache the user lists in sandbox.extra_writable is shared with the
  // host, as they asked, instead of copy-on-write.
  void share_cache(const std::string& path) {
    const auto overlay = std::find_if(p.cache_overlays.begin(), p.cache_overlays.end(),
                                      [&](const CacheOverlay& o) { return o.cache == path; });
    if (overlay == p.cache_overlays.end()) return;
    p.cache_overlays.erase(overlay);
    for (PathRule& w : p.writable) {
      if (w.path == path) w.reason = "tool cache, shared with the host (sandbox.extra_writable)";
    }
  }

  Result<void> list_extra_writable() {
    for (const std::string& entry : in.extra_writable) {
      const std::string path = expand_home(entry, in.home);
      if (auto r = check_absolute("sandbox.extra_writable entry", path, true); !r) return r;
      add_writable(path, "sandbox.extra_writable");
      share_cache(path);
      scan_roots.push_back(path);
    }
    return {};
  }

  Result<void> list_layout_protect() {
    const std::string& g = in.git_common_dir;
    if (!p.git && path_within(g, in.worktree)) {
      // A repository's own checkout, outside a session: every file of .git
      // steers the user's next git command on the host (commondir names
      // another config, modules/ and worktrees/ hold other repositories'
      // config and hooks, objects and refs are the history they trust).
      add_protect(g,
                  "the repository's git directory: outside a session the sandbox only reads it "
                  "(para sessions commit to a private store)");
    }
    add_protect(g + "/config", "git config of the main repository (core.hooksPath, fsmonitor)");
    add_protect(g + "/hooks", "git hooks of the main repository");
    add_protect(g + "/info", "git info of the main repository (attributes, exclude)");
    add_protect(g + "/objects/info", "git alternates: must not redirect the object store");
    if (p.git) {
      add_protect(g + "/packed-refs", "every branch and tag of the repository");
      const std::string& wg = p.git->worktree_gitdir;
      add_protect(wg + "/commondir", "where this worktree's git directory points");
      add_protect(wg + "/gitdir", "git's back link to this worktree");
      add_protect(wg + "/config.worktree", "per-worktree git config");
      add_protect(wg + "/locked", "worktree lock");
      add_protect(in.worktree + "/.git", "the worktree's link to its git directory");
    }
    const std::string para_dir = in.repo_root + "/.para";
    if (inside_any(para_dir, p.writable)) {
      add_protect(para_dir, "para's config, setup scripts and other sessions' state");
    }
    for (const char* rc : {".gitconfig", ".config/git", ".bashrc", ".bash_profile", ".profile",
                           ".zshrc", ".zshenv", ".zprofile"}) {
      add_protect(in.home + "/" + std::string(rc),
                  "shell or git startup file in the home directory");
    }
    // CLAUDE.md and rules/: instructions for every later Claude Code
    // session, also the user's unsandboxed ones; output styles likewise.
    for (const char* name : {"settings.json", "settings.local.json", "CLAUDE.md", "rules",
                             "commands", "agents", "hooks", "skills", "plugins", "output-styles"}) {
      add_protect(in.home + "/.claude/" + std::string(name),
                  "Claude Code settings, hooks and commands");
    }
    // ide/ holds the lock files through which Claude Code finds IDE
    // extensions, each with the token of that extension's MCP server on
    // loopback, whose tools can run code on the host (a Jupyter kernel's
    // executeCode). Hidden, so that no token can be read (the standard
    // profile shares the host network), and protected, so that no lock file
    // can be planted for the user's own Claude Code to connect to.
    const std::string ide = in.home + "/.claude/ide";
    add_protect(ide, "Claude Code's IDE connections (lock files)");
    add_deny(ide, "Claude Code's IDE connection tokens");
    shield_claude_code_files();
    if (layout_problem) return fail(*layout_problem);
    return {};
  }

  // The rest of ~/.claude that host programs run or load later. Each is
  // protected only where it exists: a new one is not run by anything.
  void shield_claude_code_files() {
    const std::string claude = in.home + "/.claude";
    if (kind(claude) != PathKind::directory) return;
    const auto if_present = [&](const std::string& path, const std::string& reason) {
      if (kind(path) != PathKind::missing) add_protect(path, reason);
    };
    // A "local" install's launcher, which the user's `claude` runs.
    if_present(claude + "/local", "Claude Code's local install (run on the host)");
    // Scripts beside the settings (a status line, hook helpers), which the
    // settings name and Claude Code runs.
    static const std::vector<std::string> kScriptExtensions = {
        ".sh", ".bash", ".zsh", ".fish", ".py", ".js", ".mjs", ".cjs", ".ts", ".rb", ".pl"};
    for (const std::string& name : fs.children(claude)) {
      const std::string path = claude + "/" + name;
      const bool script = std::any_of(kScriptExtensions.begin(), kScriptExtensions.end(),
                                      [&](const std::string& e) { return name.ends_with(e); });
      if ((script && kind(path) == PathKind::file) || name == "scripts" || name == "bin") {
        if_present(path, "a script Claude Code's settings may run");
      }
    }
    // Running Claude Code sessions source their shell snapshot before each
    // command: the sandbox gets an empty directory for its own.
    const std::string snapshots = claude + "/shell-snapshots";
    if (kind(snapshots) == PathKind::directory) {
      RuleList(p.hidden).add(snapshots, PathKind::directory,
                             "running Claude Code sessions' shell snapshots, which they source "
                             "before every command; the sandbox gets an empty one");
    }
    // Auto memory: loaded into every later session of its project, like
    // CLAUDE.md. The sandbox's own project (the worktree) keeps its memory.
    const std::string projects = claude + "/projects";
    const std::string own = claude_project_name(in.worktree);
    const std::string repo = claude_project_name(in.repo_root);
    if (repo != own) {
      add_protect(projects + "/" + repo + "/memory", "Claude Code's memory of the repository");
    }
    size_t seen = 0;
    for (const std::string& name : fs.children(projects)) {
      if (name == own || name == repo) continue;
      if (++seen > kMaxClaudeProjects) {
        p.notes.push_back("only the first " + std::to_string(kMaxClaudeProjects) +
                          " projects' Claude Code memories under " + projects + " are protected");
        break;
      }
      if_present(projects + "/" + name + "/memory", "Claude Code's memory of another project");
    }
  }

  // Finds protected names under one writable root, breadth first, bounded.
  Result<void> scan_protected(const std::string& root, size_t& budget) {
    std::vector<std::pair<std::string, int>> queue = {{root, 0}};
    for (size_t i = 0; i < queue.size() && budget > 0; ++i, --budget) {
      const auto [dir, depth] = queue[i];
      for (const std::string& name : fs.children(dir)) {
        const std::string child = dir + "/" + name;
        for (const std::string& pattern : kProtectedNames) {
          const size_t slash = pattern.find('/');
          if (pattern.compare(0, slash, name) != 0 ||
              (slash == std::string::npos && pattern.size() != name.size()) ||
              (slash != std::string::npos && slash != name.size())) {
            continue;
          }
          const std::string target = dir + "/" + pattern;
          const PathKind k = slash == std::string::npos ? kind(child) : kind(target);
          if (k == PathKind::missing) continue;
          if (auto r = protect_inside(root, target, k, "protected name " + pattern); !r) return r;
        }
        if (depth + 1 <= kScanDepth && kScanSkip.count(name) == 0 &&
            kind(child) == PathKind::directory) {
          queue.emplace_back(child, depth + 1);
        }
      }
    }
    return {};
  }

  // Protects each protected name in the paths git tracks in the worktree.
  Result<void> protect_tracked() {
    for (const std::string& relative : in.tracked_protected) {
      const std::string path = "/" + relative + "/";
      for (const std::string& name : kProtectedNames) {
        const size_t at = path.find("/" + name + "/");
        if (at == std::string::npos) continue;
        const std::string target = in.worktree + path.substr(0, at + 1 + name.size());
        const PathKind k = kind(target);
        if (k == PathKind::missing) continue;
        if (auto r =
                protect_inside(in.worktree, target, k, "protected name " + name + " (tracked)");
            !r) {
          return r;
        }
      }
    }
    return {};
  }

  // Protects `path`, found inside the writable `root`.
  Result<void> protect_inside(const std::string& root, const std::string& path, PathKind k,
                              const std::string& reason) {
    if (k != PathKind::symlink) {
      RuleList(p.protect).add(path, k, reason);
      return {};
    }
    // A symlink cannot be made read-only itself (a mount lands on its
    // target, and the agent could replace the link); protect its directory
    // instead, unless that is the root: then refuse, failing closed.
    const std::string parent = parent_of(path);
    if (parent == root) {
      return fail(Errc::invalid_argument,
                  "sandbox policy: " + path + " is a symlink directly inside the writable " + root +
                      ", so the agent could replace the link, and programs outside the sandbox "
                      "would read what it wrote there (" +
                      reason +
                      "). Replace the symlink with a copy of what it points to, or remove it");
    }
    RuleList(p.protect).add(parent, kind(parent), reason + " (a symlink: its directory)");
    return {};
  }

  void list_deny_read() {
    const std::vector<std::string>& entries = in.deny_read ? *in.deny_read : kDefaultDenyRead;
    for (const std::string& entry : entries) {
      std::string path = expand_home(entry, in.home);
      if (path.empty() || path[0] != '/') {
        p.notes.push_back("sandbox.deny_read entry '" + entry +
                          "' is not absolute (or ~/...) and was ignored");
        continue;
      }
      add_deny(path, "credential store (sandbox.deny_read)");
    }
    // Sockets that the agent's environment names, wherever they are.
    for (const char* var : {"SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "DOCKER_HOST"}) {
      std::string value = env_value(in.environment, var);
      for (const char* prefix : {"unix:path=", "unix://"}) {
        if (value.starts_with(prefix)) value = value.substr(std::strlen(prefix));
      }
      if (const size_t comma = value.find(','); comma != std::string::npos) value.resize(comma);
      // /var/run/docker.sock is /run/docker.sock: compare where it really is.
      if (const std::string real = value.empty() ? "" : fs.resolve(value); !real.empty()) {
        value = real;
      }
      // Under a hidden directory it is gone already, unless a reveal or a
      // writable root brings its directory back.
      const bool shown_again = inside_any(value, p.reveal) || inside_any(value, p.writable);
      if (!value.empty() && value[0] == '/' && (!inside_any(value, p.hidden) || shown_again)) {
        add_deny(value, std::string("socket named by ") + var);
      }
    }
  }

  void add_deny(const std::string& path, const std::string& reason) {
    PathKind k = kind(path);
    std::string target = path;
    if (k == PathKind::symlink) {
      target = fs.resolve(path);
      k = target.empty() ? PathKind::missing : kind(target);
      if (k == PathKind::missing) return;
      RuleList(p.deny_read).add(target, k, reason + " (target of " + path + ")");
      return;
    }
    if (k == PathKind::missing) return;
    RuleList(p.deny_read).add(target, k, reason);
  }

  // Writable roots inside hidden-from-reading or protected paths would undo
  // them; the stricter rule wins. A read-only reveal inside a writable root
  // or inside another reveal would undo the writable bind or repeat one.
  void drop_conflicts() {
    std::vector<PathRule> reveals;
    for (const PathRule& r : p.reveal) {
      const bool covered = inside_any(r.path, p.writable) ||
                           std::any_of(p.reveal.begin(), p.reveal.end(), [&](const PathRule& o) {
                             return o.path != r.path && path_within(r.path, o.path);
                           });
      if (!covered) reveals.push_back(r);
    }
    p.reveal = std::move(reveals);
    std::vector<PathRule> kept;
    for (const PathRule& w : p.writable) {
      const bool under_deny = inside_any(w.path, p.deny_read);
      const bool under_protect =
          std::any_of(p.protect.begin(), p.protect.end(),
                      [&](const PathRule& r) { return path_within(w.path, r.path); });
      if (under_deny || under_protect) {
        p.notes.push_back(w.path + " stays " + std::string(under_deny ? "hidden" : "read-only") +
                          ": it lies inside a " + (under_deny ? "read-denied" : "protected") +
                          " path");
        continue;
      }
      kept.push_back(w);
    }
    p.writable = std::move(kept);
  }

  void set_environment() {
    p.env_base = in.environment;
    p.env_unset = kUnsetVars;
    remove_secret_looking();
    auto set = [&](const std::string& k, const std::string& v) { p.env_set.emplace_back(k, v); };
    set("HOME", in.home);
    for (const char* k : {"TMPDIR", "TMP", "TEMP", "TEMPDIR"}) set(k, p.tmpdir);
    std::string path = env_value(in.environment, "PATH");
    if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
    if (!in.para_bin.empty()) {
      set("PATH", parent_of(kParaBinInside) + ":" + path);
      set("PARA_BIN", kParaBinInside);
    }
    set("PARA_SANDBOX", p.profile);
    if (!in.session.empty()) set("PARA_SESSION", in.session);
    // Automatic gc would rewrite packed-refs, which is read-only here.
    int count = std::atoi(env_value(in.environment, "GIT_CONFIG_COUNT").c_str());
    if (count < 0) count = 0;
    set("GIT_CONFIG_KEY_" + std::to_string(count), "gc.auto");
    set("GIT_CONFIG_VALUE_" + std::to_string(count), "0");
    set("GIT_CONFIG_KEY_" + std::to_string(count + 1), "maintenance.auto");
    set("GIT_CONFIG_VALUE_" + std::to_string(count + 1), "false");
    set("GIT_CONFIG_COUNT", std::to_string(count + 2));
    if (p.network == NetworkMode::proxied) {
      for (const auto& [k, v] :
           proxy_environment(p.proxy_port, env_value(in.environment, "JAVA_TOOL_OPTIONS"))) {
        set(k, v);
      }
    }
  }

  // By name or value; the note and env_unset carry names only, never a
  // value. The fixed kUnsetVars stay removed whatever sandbox.forward_env says.
  void remove_secret_looking() {
    std::vector<std::string> forward = kDefaultForwardEnv;
    forward.insert(forward.end(), in.forward_env.begin(), in.forward_env.end());
    std::string removed;
    for (const std::string& kv : in.environment) {
      const std::string name = kv.substr(0, kv.find('='));
      const std::string value = kv.substr(std::min(kv.size(), name.size() + 1));
      if (!(secret_looking_name(name) || secret_looking_value(value)) ||
          env_name_matches(name, forward) ||
          std::find(p.env_unset.begin(), p.env_unset.end(), name) != p.env_unset.end()) {
        continue;
      }
      p.env_unset.push_back(name);
      removed += (removed.empty() ? "" : ", ") + name;
    }
    if (removed.empty()) return;
    p.notes.push_back(
        "removed from the environment because their names or values look like secrets: " + removed +
        ". To pass one on, add its name (or a PREFIX*) to sandbox.forward_env in the user "
        "config file ($XDG_CONFIG_HOME/para/config.toml, by default "
        "~/.config/para/config.toml; para config edit); a project's config cannot");
  }
};

}  // namespace

const char* network_mode_name(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::open:
      return "open";
    case NetworkMode::proxied:
      return "proxied";
    case NetworkMode::none:
      return "none";
  }
  return "?";
}

const char* path_kind_name(PathKind kind) {
  switch (kind) {
    case PathKind::missing:
      return "missing";
    case PathKind::file:
      return "file";
    case PathKind::directory:
      return "directory";
    case PathKind::symlink:
      return "symlink";
    case PathKind::other:
      return "other";
  }
  return "?";
}

const std::vector<std::string>& profile_names() {
  static const std::vector<std::string> names = {
      "standard",        "standard-proxied",   "permissive",  "restrictive",
      "permissive-open", "restrictive-closed", "development", "isolated",
  };
  return names;
}

Result<Profile> resolve_profile(const std::string& name) {
  if (name == "standard-proxied") return Profile{"standard-proxied", NetworkMode::proxied};
  const auto& names = profile_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    return Profile{"standard", NetworkMode::open};  // para maps every legacy alias here
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return fail(Errc::invalid_argument,
              "unknown sandbox profile '" + name + "'; use one of: " + list);
}

const FileSystemView& host_filesystem() {
  static const HostFileSystem fs;
  return fs;
}

const std::vector<std::string>& default_deny_read() {
  return kDefaultDenyRead;
}
const std::vector<std::string>& protected_name_list() {
  return kProtectedNames;
}
std::vector<std::pair<std::string, std::string>> proxy_environment(
    int port, const std::string& java_tool_options) {
  const std::string host = "127.0.0.1", port_text = std::to_string(port);
  const std::string url = "http://" + host + ":" + port_text;
  std::vector<std::pair<std::string, std::string>> env;
  for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                        "all_proxy", "GRPC_PROXY", "grpc_proxy"}) {
    env.emplace_back(k, url);
  }
  env.emplace_back("NO_PROXY", "localhost,127.0.0.1,::1");
  env.emplace_back("no_proxy", "localhost,127.0.0.1,::1");
  env.emplace_back("NODE_USE_ENV_PROXY", "1");  // Node's fetch (22.21, 24+)
  env.emplace_back("CLOUDSDK_PROXY_TYPE", "http");
  env.emplace_back("CLOUDSDK_PROXY_ADDRESS", host);
  env.emplace_back("CLOUDSDK_PROXY_PORT", port_text);
  // JVMs read no *_PROXY variable. Last, so that these win over the same
  // properties in the value already set; every JVM prints that it picked
  // the variable up, on stderr.
  std::string java = java_tool_options.empty() ? "" : java_tool_options + " ";
  for (const char* scheme : {"http", "https"}) {
    java += std::string("-D") + scheme + ".proxyHost=" + host + " -D" + scheme +
            ".proxyPort=" + port_text + " ";
  }
  env.emplace_back("JAVA_TOOL_OPTIONS", java + "-Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]");
  return env;
}

const std::vector<std::string>& default_forward_env() {
  return kDefaultForwardEnv;
}

bool secret_looking_name(const std::string& name) {
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& part : kSecretNameParts) {
    if (upper.find(part) != std::string::npos) return true;
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= upper.size();) {
    const size_t end = std::min(upper.find('_', start), upper.size());
    parts.push_back(std::string_view(upper).substr(start, end - start));
    start = end + 1;
  }
  // Trailing parts that only qualify the one before: MASTER_KEY_, X_KEY_V2.
  const auto qualifier = [](std::string_view part) {
    return part.empty() || part == "B64" || part == "BASE64" || part == "HEX" || part == "PEM" ||
           (part.size() >= 2 && part[0] == 'V' &&
            std::all_of(part.begin() + 1, part.end(), [](char c) { return c >= '0' && c <= '9'; }));
  };
  size_t last = parts.size();
  while (last > 1 && qualifier(parts[last - 1])) --last;
  if (parts.size() >= 2) {
    if (last >= 2 && parts[last - 1] == "KEY") return true;
    for (const std::string_view part : parts) {
      if (std::find(kSecretWholeParts.begin(), kSecretWholeParts.end(), part) !=
          kSecretWholeParts.end()) {
        return true;
      }
    }
  }
  // AUTH, OAUTH, AUTHORIZATION; not AUTHOR (GIT_AUTHOR_EMAIL) or XAUTHORITY.
  for (size_t at = upper.find("AUTH"); at != std::string::npos; at = upper.find("AUTH", at + 1)) {
    const std::string_view rest = std::string_view(upper).substr(at + 4);
    if (!rest.starts_with("OR") || rest.starts_with("ORIZ")) return true;
  }
  return false;
}

bool secret_looking_value(std::string_view value) {
  // A URL with a password: scheme://user:password@host/...
  if (const size_t scheme = value.find("://"); scheme != std::string_view::npos) {
    const std::string_view rest = value.substr(scheme + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      const size_t colon = authority.substr(0, at).find(':');
      if (colon != std::string_view::npos && colon + 1 < at) return true;
    }
  }
  if (value.starts_with("-----BEGIN ") && value.find("PRIVATE KEY") != std::string_view::npos) {
    return true;
  }
  // A connection string or JSON with a password in it.
  std::string lower(value);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* field : {"password=", "pwd=", "\"password\""}) {
    if (lower.find(field) != std::string::npos) return true;
  }
  // A JSON Web Token: three base64url parts, the first a JSON object ("eyJ").
  const auto base64url = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  };
  if (value.size() >= 36 && value.starts_with("eyJ") &&
      std::count(value.begin(), value.end(), '.') == 2 &&
      std::all_of(value.begin(), value.end(), base64url)) {
    return true;
  }
  const auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  };
  for (const TokenShape& shape : kTokenShapes) {
    if (value.size() >= shape.min_length && value.starts_with(shape.prefix) &&
        std::all_of(value.begin(), value.end(), token_char)) {
      return true;
    }
  }
  return false;
}

bool env_name_matches(const std::string& name, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    if (!pattern.empty() && pattern.back() == '*') {
      return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    }
    return name == pattern;
  });
}

bool path_within(const std::string& path, const std::string& root) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

Result<void> validate_session_name(const std::string& name) {
  const auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  if (name.empty() || name.size() > 50 || !std::all_of(name.begin(), name.end(), ok_char) ||
      name[0] == '_' || name[0] == '-') {
    return fail(Errc::invalid_argument,
                "invalid session name '" + name +
                    "': use 1-50 letters, digits, '_' or '-', starting with a letter or digit");
  }
  return {};
}

Result<Policy> build_policy(const PolicyInputs& in) {
  Builder b{in, in.fs != nullptr ? *in.fs : host_filesystem(), {}};
  if (auto r = b.validate(); !r) return fail(r.error());
  Result<Profile> profile = resolve_profile(in.profile);
  if (!profile) return fail(profile.error());

  Policy& p = b.p;
  p.profile = profile->name;
  p.requested_profile = in.profile;
  p.network = in.network_override ? *in.network_override : profile->network;
  p.session = in.session;
  p.workdir = in.worktree;
  p.home = in.home;
  p.tmpdir = in.runtime_dir + "/tmp";
  p.proxy_socket = in.proxy_socket;
  p.proxy_port = in.proxy_port;
  p.allowed_domains = in.allowed_domains;
  p.para_bin = in.para_bin;
  p.relay_bin = in.relay_bin;
  p.darwin_user_temp_dir = in.darwin_user_temp_dir;
  p.darwin_user_cache_dir = in.darwin_user_cache_dir;
  p.protected_names = kProtectedNames;
  if (!in.session.empty()) {
    SessionGit g;
    g.common_dir = in.git_common_dir;
    g.worktree_gitdir = in.worktree_gitdir.empty() ? in.git_common_dir + "/worktrees/" + in.session
                                                   : in.worktree_gitdir;
    g.ref_name = "refs/heads/" + in.branch_prefix + "/" + in.session;
    g.ref_file = in.git_common_dir + "/" + g.ref_name;
    g.reflog_file = in.git_common_dir + "/logs/" + g.ref_name;
    g.private_refs = in.runtime_dir + "/git/refs";
    g.private_logs = in.runtime_dir + "/git/logs";
    g.objects = in.objects_dir.empty() ? in.runtime_dir + "/git/objects" : in.objects_dir;
    g.objects_info = in.runtime_dir + "/git/objects-info";
    if (b.kind(in.worktree + "/.git") != PathKind::file ||
        b.kind(g.worktree_gitdir) != PathKind::directory) {
      return fail(Errc::invalid_argument,
                  "sandbox policy: " + in.worktree + " is not a linked worktree of " +
                      in.git_common_dir + " (expected a .git file and " + g.worktree_gitdir + ")");
    }
    p.private_binds.push_back(
        {g.private_refs, in.git_common_dir + "/refs/heads/" + in.branch_prefix,
         "session branches: only " + g.ref_name + " is copied back to the repository"});
    p.private_binds.push_back({g.private_logs,
                               in.git_common_dir + "/logs/refs/heads/" + in.branch_prefix,
                               "reflogs of session branches (private)"});
    // New objects go to a store of the sandbox's own: an object written
    // into the shared one could shadow the content of any existing name.
    p.private_binds.push_back({g.objects, in.git_common_dir + "/objects",
                               "new git objects (private; para imports them, verified, after "
                               "the run)"});
    p.private_binds.push_back({g.objects_info, in.git_common_dir + "/objects/info",
                               "the private store's alternates: the repository's objects", true});
    p.private_binds.push_back({in.git_common_dir + "/objects", kSharedObjectsInside,
                               "the repository's objects, read-only", true});
    p.git = std::move(g);
  }

  b.hide_socket_dirs();
  b.list_writable();
  if (auto r = b.list_extra_writable(); !r) return fail(r.error());
  b.list_deny_read();
  if (auto r = b.list_layout_protect(); !r) return fail(r.error());
  // The worktree and the user's extra roots hold project files; caches and
  // ~/.claude (whose entries are listed above) are not searched.
  size_t budget = kScanMaxDirs;
  b.scan_roots.insert(b.scan_roots.begin(), in.worktree);
  for (const std::string& root : b.scan_roots) {
    if (b.kind(root) != PathKind::directory) continue;
    if (auto r = b.scan_protected(root, budget); !r) return fail(r.error());
  }
  if (budget == 0) {
    p.scan_incomplete = true;
    p.notes.push_back("the scan for protected names stopped after " + std::to_string(kScanMaxDirs) +
                      " directories" +
                      (in.tracked_protected.empty() ? "" : "; those git tracks are protected"));
  }
  if (auto r = b.protect_tracked(); !r) return fail(r.error());
  b.drop_conflicts();
  b.set_environment();
  p.notes.push_back(
      "on Linux, protected names (.git/hooks, .envrc, ...) created after the "
      "sandbox started are not protected");
  return std::move(b.p);
}

bool host_runs_or_obeys(const std::string& repo_relative_path) {
  if (repo_relative_path.rfind(".para/", 0) == 0) return true;
  const std::string path = "/" + repo_relative_path + "/";
  return std::any_of(kProtectedNames.begin(), kProtectedNames.end(), [&](const std::string& name) {
    return path.find("/" + name + "/") != std::string::npos;
  });
}

std::vector<std::string> final_environment(const Policy& policy) {
  std::vector<std::string> env;
  for (const std::string& kv : policy.env_base) {
    const std::string key = kv.substr(0, kv.find('='));
    const bool unset =
        std::find(policy.env_unset.begin(), policy.env_unset.end(), key) != policy.env_unset.end();
    const bool overridden = std::any_of(policy.env_set.begin(), policy.env_set.end(),
                                        [&](const auto& s) { return s.first == key; });
    if (!unset && !overridden) env.push_back(kv);
  }
  for (const auto& [k, v] : policy.env_set) env.push_back(k + "=" + v);
  return env;
}

}  // namespace para::sandbox
