// para shell and para sandbox explain SESSION, through the built para, on
// real sessions: the shell's sandbox is the session's stored one (files,
// secrets, environment, network through a proxy of its own), its commits
// come back to the session branch, and on a terminal it gets a pty of its
// own. Cost: ~10 sandboxed shells of 0.1-2 s each.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "core/fd.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/sandbox/fixture.h"
#include "tests/integration/sandbox/session_fixture.h"

namespace para::test {
namespace {

using nlohmann::json;

bool no_bwrap() {
  return !bwrap_works();
}

// The entries of a directory (empty if it does not exist).
std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// Reads the master of a pty until `needle` shows up or the timeout passes.
std::string read_until(int master, const std::string& needle, std::string& seen,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (seen.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
  }
  return seen;
}

void type(int master, const std::string& text) {
  REQUIRE(::write(master, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

}  // namespace

TEST_SUITE("sandbox/shell") {
  TEST_CASE(
      "para shell runs a command in a network-isolated session through a proxy of its own "
      "and brings its commit back" *
      doctest::skip(no_bwrap())) {
    ParaRepo r;
    Certs certs;
    HttpsServer https(certs);
    LoopbackServer tcp4(LoopbackServer::Kind::tcp, "127.0.0.1");
    const std::string ca = r.repo().home() + "/test-ca.pem";
    std::filesystem::copy_file(certs.cert(), ca);
    const std::string hs = std::to_string(https.port());
    write_user_config(r, r.script("noop.sh", "#!/bin/sh\ntrue\n"));
    Completed start =
        r.para({"start", "sh1", "--sandbox-no-network", "--allowed-domains", "allowed.test:" + hs});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    const std::string main_before = r.repo().git_out({"rev-parse", "main"});
    TempDir tmp("para-shell-tmp");  // the shell's runtime directory goes here

    Completed c = para_with_env(
        r,
        {"shell", "sh1", "--", "sh", "-c",
         "echo SANDBOX=$PARA_SANDBOX SESSION=$PARA_SESSION; pwd; "
         "curl -sS --max-time 10 --cacert " +
             ca + " https://allowed.test:" + hs +
             "/hello; echo; "
             "echo work > shell.txt && git add shell.txt && git commit -qm from-shell && echo "
             "COMMITTED; "
             "git update-ref refs/heads/main HEAD 2>/dev/null || echo MAIN-REFUSED; " +
             probe_path() + " tcp 127.0.0.1 " + std::to_string(tcp4.port())},
        {"TMPDIR=" + tmp.path()});
    CAPTURE(c.out);
    CAPTURE(c.err);
    CHECK(c.exit_code == 1);  // the exit code of the last command: the probe, blocked
    CHECK(c.out.find("SANDBOX=standard-proxied SESSION=sh1\n" + r.worktree("sh1") + "\n") == 0);
    CHECK(c.out.find("\nhello\n") != std::string::npos);
    CHECK(c.out.find("COMMITTED") != std::string::npos);
    CHECK(c.out.find("MAIN-REFUSED") != std::string::npos);
    CHECK(c.out.find("BLOCKED") != std::string::npos);
    CHECK(tcp4.hits() == 0);
    CHECK(r.repo().git_out({"log", "-1", "--format=%s", "para/sh1"}) == "from-shell");
    CHECK(r.repo().git_out({"rev-parse", "main"}) == main_before);
    // The shell's proxy logged to the session's network log, as the session.
    const json logs = r.para_json({"logs", "sh1", "--network"});
    REQUIRE(logs["entries"].size() == 1);
    CHECK(logs["entries"][0]["session"] == "sh1");
    CHECK(logs["entries"][0]["decision"] == "allow");
    CHECK(logs["entries"][0]["host"] == "allowed.test");
    // Its runtime directory (socket, TMPDIR, branch copy) is gone.
    CHECK(entries_of(tmp / ("para-" + std::to_string(::getuid()))).empty());

    CHECK(r.para({"shell", "sh1", "--", "sh", "-c", "exit 7"}).exit_code == 7);
    Completed missing = r.para({"shell", "nosuch", "--", "true"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("nosuch") != std::string::npos);
    CHECK(r.para({"shell", "../evil", "--", "true"}).exit_code == 2);
  }

  TEST_CASE("a shell beside a running agent sees the agent's commits, and the branch keeps both" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    write_user_config(
        r, r.script("slow.sh",
                    "#!/bin/sh\n"
                    "echo a > a.txt && git add a.txt && git commit -qm agent-1 && echo AGENT-1\n"
                    "i=0; while [ ! -f shell-was-here ] && [ $i -lt 600 ]; do sleep 0.05; "
                    "i=$((i+1)); done\n"
                    "echo b > b.txt && git add b.txt && git commit -qm agent-2 && echo AGENT-2\n"));
    REQUIRE(r.para({"start", "both", "--sandbox", "-p", "work"}).exit_code == 0);
    // Until the first commit, or the agent's end (then the log says why).
    wait_until(
        [&] {
          return session_log(r, "both").find("AGENT-1") != std::string::npos ||
                 agent_done(r, "both");
        },
        std::chrono::seconds(60));
    INFO("session log: ", session_log(r, "both"));
    INFO("session state: ", session_state(r, "both").dump());
    REQUIRE(session_log(r, "both").find("AGENT-1") != std::string::npos);
    Completed c = r.para({"shell", "both", "--", "sh", "-c",
                          "git log -1 --format=%s; echo s > s.txt && git add s.txt && "
                          "git commit -qm shell-1 && touch shell-was-here"});
    // The agent went on at that touch, while the shell was still settling:
    // the shell's settle must neither take nor undo the agent's newer commit.
    CAPTURE(c.err);
    CHECK(c.exit_code == 0);
    CHECK(c.out == "agent-1\n");  // the agent's commit, not yet copied to the repository
    REQUIRE(wait_until([&] { return agent_done(r, "both"); }, std::chrono::seconds(30)));
    CHECK(session_log(r, "both").find("AGENT-2") != std::string::npos);
    CHECK(r.repo().git_out({"log", "--format=%s", "para/both"}) ==
          "agent-2\nshell-1\nagent-1\ninitial commit");
  }

  TEST_CASE("explain SESSION shows the stored settings, and a shell in the session observes them" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const std::string home = r.repo().home();
    for (const char* secret : {".ssh/id_ed25519", ".aws/credentials", ".netrc"}) {
      std::filesystem::create_directories(std::filesystem::path(home + "/" + secret).parent_path());
      write_text(home + "/" + secret, std::string(kSecret) + "\n", 0600);
    }
    write_text(home + "/.bashrc", "# rc\n");
    write_user_config(r, r.script("noop.sh", "#!/bin/sh\ntrue\n"));
    REQUIRE(r.para({"start", "ex1", "--sandbox-no-network", "--allowed-domains", "allowed.test"})
                .exit_code == 0);
    const json e = r.para_json({"sandbox", "explain", "ex1"});
    CHECK(e["session"] == "ex1");
    CHECK(e["network"] == "proxied");
    CHECK(e["session_sandbox"]["profile"] == "standard-proxied");
    CHECK(e["session_sandbox"]["allowed_domains"] == json::array({"allowed.test"}));
    const std::vector<std::string> allowed = e["proxy"]["allowed"];
    CHECK(std::find(allowed.begin(), allowed.end(), "allowed.test") != allowed.end());
    CHECK(std::find(allowed.begin(), allowed.end(), "api.anthropic.com") != allowed.end());
    CHECK(e["proxy"]["pins"][0] == "allowed.test:127.0.0.1");
    CHECK(e["proxy"]["socket"].get<std::string>().ends_with("-ex1/proxy.sock"));
    CHECK(e["environment"]["set"]["HTTPS_PROXY"] == "http://127.0.0.1:8877");
    CHECK(e["workdir"] == r.worktree("ex1"));
    // Flags override the stored settings.
    CHECK(r.para_json({"sandbox", "explain", "ex1", "--profile", "standard"})["network"] == "open");

    // What the shell observes, probe by probe, for every rule explain lists.
    std::string script;
    int index = 0;
    std::map<int, std::string> expect;  // probe index -> "allowed" / "blocked" / "hidden"
    auto add = [&](const std::string& probe_args, const std::string& outcome) {
      script += "printf 'PROBE-" + std::to_string(index) + " '; " + probe_path() + " " +
                probe_args + " | tr '\\n' ' '; echo\n";
      expect[index++] = outcome;
    };
    auto quote = [](const std::string& s) { return "'" + s + "'"; };
    for (const json& w : e["writable"]) {
      const std::string reason = w["reason"];
      if (w["kind"] != "directory" || reason.find("temp directory") != std::string::npos) continue;
      add("write " + quote(w["path"].get<std::string>() + "/probe-" + std::to_string(index)),
          "allowed");
    }
    for (const json& p : e["protected"]) {
      const std::string path = p["path"];
      if (p["kind"] == "file") add("append " + quote(path), "blocked");
      if (p["kind"] == "directory") add("write " + quote(path + "/planted"), "blocked");
    }
    for (const json& d : e["deny_read"]) {
      add(std::string(d["kind"] == "directory" ? "list " : "read ") + quote(d["path"]), "hidden");
    }
    script += "env\n";
    Completed c = r.para({"shell", "ex1", "--", "sh", "-c", script});
    CAPTURE(c.err);
    int checked = 0;
    for (const std::string& line : lines_starting(c.out, "PROBE-")) {
      const size_t space = line.find(' ');
      const int i = std::atoi(line.substr(6, space - 6).c_str());
      if (expect.count(i) == 0) continue;
      CAPTURE(line);
      const std::string& want = expect[i];
      if (want == "allowed") CHECK(line.find("ALLOWED") != std::string::npos);
      if (want == "blocked") CHECK(line.find("BLOCKED") != std::string::npos);
      if (want == "hidden") CHECK(line.find(kSecret) == std::string::npos);
      ++checked;
    }
    CHECK(checked == index);
    CHECK(expect.size() > 10);
    // The environment explain promises (TMPDIR is the shell's own).
    for (const auto& [k, v] : e["environment"]["set"].items()) {
      if (k.starts_with("TMP") || k.starts_with("TEMP")) continue;
      CAPTURE(k);
      CHECK(c.out.find("\n" + k + "=" + v.get<std::string>() + "\n") != std::string::npos);
    }
    for (const json& k : e["environment"]["unset"]) {
      CHECK(c.out.find("\n" + k.get<std::string>() + "=") == std::string::npos);
    }
  }

  TEST_CASE(
      "para shell on a terminal: a pty of its own with job control, Ctrl-C and the window "
      "size; nothing reaches the user's terminal but bytes" *
      doctest::skip(no_bwrap())) {
    ParaRepo r;
    write_user_config(r, r.script("noop.sh", "#!/bin/sh\ntrue\n"));
    REQUIRE(r.para({"start", "pt1", "--sandbox"}).exit_code == 0);

    // The test is the user's terminal: a pty whose slave is para's stdio.
    Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(master.valid());
    REQUIRE(::grantpt(master.get()) == 0);
    REQUIRE(::unlockpt(master.get()) == 0);
    Fd slave(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(slave.valid());
    winsize ws{};
    ws.ws_row = 33;
    ws.ws_col = 111;
    REQUIRE(::ioctl(master.get(), TIOCSWINSZ, &ws) == 0);
    std::vector<std::string> env = r.env();
    set_env(env, "SHELL", "/bin/bash");
    set_env(env, "PS1", "sbx$ ");
    Result<pid_t> pid = spawn(SpawnOptions{.argv = {built_binary("para"), "shell", "pt1"},
                                           .env = env,
                                           .cwd = r.path(),
                                           .stdin_fd = slave.get(),
                                           .stdout_fd = slave.get(),
                                           .stderr_fd = slave.get(),
                                           .new_session = true});
    REQUIRE(pid);
    struct Reap {
      pid_t pid;
      ~Reap() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        (void)wait_for(pid, std::chrono::seconds(5));
      }
    } reap{*pid};

    std::string seen;
    type(master.get(), "stty size; [ -t 0 ] && echo TTY-$((6*7)); set -o | grep '^monitor'\n");
    read_until(master.get(), "TTY-42", seen);
    read_until(master.get(), "monitor", seen);
    CHECK(seen.find("33 111") != std::string::npos);
    CHECK(seen.find("TTY-42") != std::string::npos);
    read_until(master.get(), "on", seen);
    CHECK(seen.find("no job control") == std::string::npos);
    CHECK(seen.find("cannot set terminal process group") == std::string::npos);

    // Ctrl-C interrupts the foreground job inside, not the shell or para.
    type(master.get(), "sleep 60; echo SLE''PT\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    type(master.get(), "\x03");
    type(master.get(), "echo AFTER-$((1+1))\n");
    read_until(master.get(), "AFTER-2", seen);
    CHECK(seen.find("AFTER-2") != std::string::npos);
    CHECK(seen.find("SLEPT") == std::string::npos);

    // Terminal injection lands in the sandbox's own pty (the shell inside
    // runs it), never in the user's terminal.
    type(master.get(), probe_path() + " inject 'echo INJECTED-$((2+3))\\n'\n");
    read_until(master.get(), "TIOCSTI", seen);
    const bool injected = seen.find("ALLOWED TIOCSTI") != std::string::npos;
    if (injected) read_until(master.get(), "INJECTED-5", seen);
    CHECK((injected ? seen.find("INJECTED-5") != std::string::npos
                    : seen.find("BLOCKED") != std::string::npos));

    type(master.get(), "exit 3\n");
    Result<ExitStatus> st = wait_for(*pid, std::chrono::seconds(20));
    REQUIRE(st);
    reap.pid = -1;
    CHECK(st->exit_code == 3);
    // The user's terminal has nothing waiting to be read as input, and its
    // modes are back (para had put it in raw mode).
    int pending = -1;
    REQUIRE(::ioctl(slave.get(), FIONREAD, &pending) == 0);
    CHECK(pending == 0);
    termios modes{};
    REQUIRE(::tcgetattr(slave.get(), &modes) == 0);
    CHECK((modes.c_lflag & ICANON) != 0);
    CHECK((modes.c_lflag & ECHO) != 0);
  }
}

}  // namespace para::test
