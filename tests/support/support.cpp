#include "tests/support/support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace para::test {

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  // Canonical, so that paths compare equal to what git and para print.
  path_ = std::filesystem::canonical(templ).string();
}

TempDir::~TempDir() {
  std::error_code ec;
  // Read-only leftovers (git objects) must not stop the cleanup.
  for (auto it = std::filesystem::recursive_directory_iterator(
           path_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      ::chmod(it->path().c_str(), 0755);
    }
  }
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> isolated_env(const std::string& home) {
  std::vector<std::string> env;
  const char* path = std::getenv("PATH");
  env.push_back(std::string("PATH=") + (path ? path : "/usr/local/bin:/usr/bin:/bin"));
  env.push_back("HOME=" + home);
  env.push_back("XDG_CONFIG_HOME=" + home + "/.config");
  env.push_back("GIT_CONFIG_NOSYSTEM=1");
  env.push_back("GIT_AUTHOR_NAME=Para Test");
  env.push_back("GIT_AUTHOR_EMAIL=test@para.invalid");
  env.push_back("GIT_COMMITTER_NAME=Para Test");
  env.push_back("GIT_COMMITTER_EMAIL=test@para.invalid");
  env.push_back("LC_ALL=C");
  env.push_back("PARA_NON_INTERACTIVE=1");
  if (const char* log = std::getenv("PARA_LOG")) env.push_back(std::string("PARA_LOG=") + log);
  if (const char* tmp = std::getenv("TMPDIR")) env.push_back(std::string("TMPDIR=") + tmp);
  for (const char* name : {"PARA_BIN", "PARA_MCP_SERVER_BIN", "PARA_RELAY_BIN"}) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  return env;
}

TempGitRepo::TempGitRepo(bool with_commit) : dir_("para-repo") {
  repo_ = dir_.path() + "/repo";
  home_ = dir_.path() + "/home";
  std::filesystem::create_directories(repo_);
  std::filesystem::create_directories(home_ + "/.config");
  env_ = isolated_env(home_);
  Completed init = git({"init", "-q", "-b", "main"});
  if (!init.ok()) throw std::runtime_error("git init failed: " + init.err);
  if (with_commit) {
    write("README.md", "# test repository\n");
    commit_all("initial commit");
  }
}

Completed TempGitRepo::git(const std::vector<std::string>& args, const std::string& cwd) const {
  std::vector<std::string> argv = {"git", "-C", cwd.empty() ? repo_ : cwd};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env_, repo_);
}

std::string TempGitRepo::git_out(const std::vector<std::string>& args,
                                 const std::string& cwd) const {
  Completed c = git(args, cwd);
  if (!c.ok()) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    throw std::runtime_error("git " + joined + "failed: " + c.err);
  }
  return trim(c.out);
}

void TempGitRepo::write(const std::string& relative, const std::string& content) const {
  const std::string full = repo_ + "/" + relative;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path());
  write_text(full, content);
}

void TempGitRepo::commit_all(const std::string& message) const {
  git_out({"add", "-A"});
  git_out({"commit", "-q", "-m", message});
}

std::string built_binary(const std::string& name) {
  std::string var;
  for (char c : name) var += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  var += "_BIN";
  const char* v = std::getenv(var.c_str());
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(var + " is not set; run the tests with meson test");
  }
  return v;
}

Completed run_cmd(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  const std::string& cwd, const std::string& stdin_data,
                  std::chrono::milliseconds timeout) {
  Command cmd{.argv = argv, .env = env, .cwd = cwd, .timeout = timeout};
  if (!stdin_data.empty()) cmd.stdin_data = stdin_data;
  Result<Completed> r = run(cmd);
  if (!r) throw std::runtime_error("cannot run " + argv[0] + ": " + r.error().message);
  return *r;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, const std::string& content, int mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    // A silently unwritten fixture makes a test pass for the wrong reason.
    if (!out.flush()) throw std::runtime_error("write_text: cannot write " + path);
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool bwrap_works() {
  Result<Completed> r =
      run(Command{.argv = {"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                           "--unshare-all", "--die-with-parent", "--", "true"},
                  .timeout = std::chrono::seconds(10)});
  return r && r->ok();
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

}  // namespace para::test
