// The para CLI's docker commands, through the built binary: the progress bar
// on a terminal (a real pty), plain lines and JSON otherwise, and the errors
// a user meets. Building examples/agent-image takes 2-4 s.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "core/fd.h"
#include "core/fs.h"
#include "core/process.h"
#include "docker/images.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"
#include "tests/support/support.h"

namespace para::docker {
namespace {

using namespace std::chrono_literals;

std::string para_bin() {
  return para::test::built_binary("para");
}

std::string source_root() {
  return std::getenv("PARA_SOURCE_ROOT");
}

std::vector<std::string> cli_env() {
  std::vector<std::string> env = current_environment();
  set_env(env, "TERM", "xterm");
  return env;
}

struct ScopedImage {
  const Client& client;
  std::string reference;
  ~ScopedImage() { (void)remove_image(client, reference, true); }
};

// Runs para with stderr on a pseudo-terminal; returns {exit code, what the
// terminal showed, stdout}.
struct TtyRun {
  int exit_code = -1;
  std::string terminal, out;
};

TtyRun run_on_tty(const std::vector<std::string>& args) {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 120;
  ws.ws_row = 40;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &ws) == 0);
  Fd m(master), s(slave);
  para::test::TempDir dir;
  Fd out(::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  std::vector<std::string> argv = {para_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<pid_t> pid = spawn({.argv = argv,
                             .env = cli_env(),
                             .cwd = source_root(),
                             .stdout_fd = out.get(),
                             .stderr_fd = s.get()});
  REQUIRE(pid);
  s.reset();
  TtyRun r;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    pollfd p{m.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      const ssize_t n = ::read(m.get(), buf, sizeof buf);
      if (n > 0) r.terminal.append(buf, static_cast<size_t>(n));
      if (n <= 0) break;  // EIO once the child closed the terminal
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  Result<ExitStatus> st = wait_for(*pid, 60s);
  REQUIRE(st);
  r.exit_code = st->exit_code;
  r.out = para::test::read_text(dir / "out");
  return r;
}

}  // namespace

TEST_SUITE("docker/cli") {
  TEST_CASE(
      "para docker build-image draws a progress bar on a terminal and builds the agent image") {
    const Client& client = test::test_client();
    const std::string tag = "para-test-agent-" + random_hex(4) + ":latest";
    ScopedImage cleanup{client, tag};
    TtyRun r = run_on_tty({"docker", "build-image", "examples/agent-image", "--add-file",
                           "/bin/busybox:busybox", "--tag", tag});
    CAPTURE(r.terminal);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.starts_with("Built " + tag + " (sha256:"));
    // Step lines scroll above a bar redrawn in place with \r and erase-line.
    CHECK(r.terminal.find("Step 1/9 : FROM scratch") != std::string::npos);
    CHECK(r.terminal.find("\r\033[K[") != std::string::npos);
    CHECK(r.terminal.find("] 100% ") != std::string::npos);
    CHECK(r.terminal.find("[###") != std::string::npos);

    // The image is what examples/agent-image/README.md says.
    ContainerSpec spec = test::test_spec({"sh", "-c", "echo $HOME; pwd; touch $HOME/f && echo ok"});
    spec.image = tag;
    spec.user = "1234:1234";
    harden(spec);
    const test::RunResult run = test::run_to_exit(client, spec);
    CHECK(run.exit_code == 0);
    CHECK(run.output == "/home/agent\n/workspace\nok\n");
  }

  TEST_CASE("without a terminal progress is one plain line per step and --json prints the result") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir context;
    para::test::write_text(context / "Dockerfile",
                           std::string("FROM ") + test::kTestImage + "\nENV A=1\nENV B=2\n");
    const std::string tag = "para-test-cli-" + random_hex(4) + ":latest";
    ScopedImage cleanup{client, tag};
    Completed c = para::test::run_cmd(
        {para_bin(), "docker", "build-image", context.path(), "--tag", tag, "--json"}, cli_env(),
        context.path());
    CAPTURE(c.err);
    REQUIRE(c.exit_code == 0);
    nlohmann::json j = nlohmann::json::parse(c.out);
    CHECK(j["tag"] == tag);
    CHECK(j["image_id"].get<std::string>().starts_with("sha256:"));
    CHECK(c.err.find("[  0%] Step 1/3 : FROM") != std::string::npos);
    CHECK(c.err.find("[ 66%] Step 3/3 : ENV B=2") != std::string::npos);
    CHECK(c.err.find('\r') == std::string::npos);
  }

  TEST_CASE("para docker commands report clear errors with the right exit codes") {
    para::test::TempDir empty;
    Completed no_dockerfile = para::test::run_cmd(
        {para_bin(), "docker", "build-image", empty.path()}, cli_env(), empty.path());
    CHECK(no_dockerfile.exit_code == 1);
    CHECK(no_dockerfile.err.find("there is no Dockerfile in " + empty.path()) != std::string::npos);

    Completed bad_add = para::test::run_cmd(
        {para_bin(), "docker", "build-image", empty.path(), "--add-file", "nocolon"}, cli_env(),
        empty.path());
    CHECK(bad_add.exit_code == 2);
    CHECK(bad_add.err.find("HOST_PATH:NAME_IN_CONTEXT") != std::string::npos);

    Completed pull = para::test::run_cmd({para_bin(), "docker", "pull", "127.0.0.1:1/none"},
                                         cli_env(), empty.path());
    CHECK(pull.exit_code == 1);
    CHECK(pull.err.find("the registry cannot be reached") != std::string::npos);

    std::vector<std::string> gone = cli_env();
    set_env(gone, "DOCKER_HOST", "unix://" + empty / "docker.sock");
    Completed down = para::test::run_cmd({para_bin(), "docker", "info"}, gone, empty.path());
    CHECK(down.exit_code == 1);
    CHECK(down.err.find("the Docker daemon is not running") != std::string::npos);

    Completed info =
        para::test::run_cmd({para_bin(), "docker", "info", "--json"}, cli_env(), empty.path());
    REQUIRE(info.exit_code == 0);
    nlohmann::json j = nlohmann::json::parse(info.out);
    CHECK(j["api_version"] == test::test_client().api_version());
    CHECK(j["default_image"] == kDefaultImage);
  }

  TEST_CASE("para loads its Docker module beside itself, and says to reinstall when it is gone") {
    // A copy of para in a directory of its own: the module is not beside it
    // (and para is not installed on the test machines).
    para::test::TempDir dir;
    const std::string copy = dir / "para";
    std::filesystem::copy_file(para_bin(), copy);
    Completed missing = para::test::run_cmd({copy, "docker", "info"}, cli_env(), dir.path());
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("libpara-docker-http.so") != std::string::npos);
    CHECK(missing.err.find("reinstall para") != std::string::npos);
    // Commands that never talk to Docker do not need it, and load neither
    // cpp-httplib nor OpenSSL (the dynamic loader lists what it loads).
    std::vector<std::string> traced = cli_env();
    set_env(traced, "LD_DEBUG", "libs");
    Completed version = para::test::run_cmd({copy, "--version"}, traced, dir.path());
    CHECK(version.exit_code == 0);
    CHECK(version.err.find("libstdc++") != std::string::npos);  // the trace is there
    CHECK(version.err.find("libcpp-httplib") == std::string::npos);
    CHECK(version.err.find("libssl") == std::string::npos);

    const std::string module =
        std::filesystem::path(para_bin()).parent_path() / "libpara-docker-http.so";
    std::filesystem::copy_file(module, dir / "libpara-docker-http.so");
    Completed found =
        para::test::run_cmd({copy, "docker", "info", "--json"}, cli_env(), dir.path());
    CHECK(found.exit_code == 0);
    CHECK(nlohmann::json::parse(found.out)["api_version"] == test::test_client().api_version());
  }

  TEST_CASE("a user outside the docker group is told to join it or run as root") {
    struct stat st {};
    const bool default_socket = std::getenv("DOCKER_HOST") == nullptr;
    const bool private_socket = ::stat(kDefaultSocket, &st) == 0 && (st.st_mode & 0006) == 0;
    Result<std::string> setpriv = find_program("setpriv");
    if (!default_socket || !private_socket || !setpriv || ::geteuid() != 0) {
      MESSAGE("needs root, setpriv and a default socket that others cannot open; not checked");
      return;
    }
    std::vector<std::string> env = cli_env();
    unset_env(env, "DOCKER_HOST");
    Completed c = para::test::run_cmd({*setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                       "--", para_bin(), "docker", "info"},
                                      env, "/");
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("permission denied on /var/run/docker.sock") != std::string::npos);
    CHECK(c.err.find("docker group") != std::string::npos);
  }
}

}  // namespace para::docker
