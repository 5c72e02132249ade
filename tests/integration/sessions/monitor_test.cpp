// para monitor in a real pseudo-terminal: the built binary draws real
// sessions of a real repository, and its keys finish, cancel and inspect
// them; the terminal is given back as it was, on q and on SIGTERM.

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <regex>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace {

using namespace std::chrono_literals;

// A process on the slave side of a pty, its output collected from the master.
class PtyRun {
 public:
  PtyRun(const ParaRepo& r, const std::vector<std::string>& args, unsigned short cols = 120,
         unsigned short rows = 24, const std::string& cwd = "") {
    std::vector<std::string> argv = {built_binary("para")};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> env = r.env();
    env.push_back("TERM=xterm");
    std::vector<char*> cargv, cenv;
    for (std::string& a : argv) cargv.push_back(a.data());
    for (std::string& e : env) cenv.push_back(e.data());
    cargv.push_back(nullptr);
    cenv.push_back(nullptr);
    winsize ws = {};
    ws.ws_col = cols;
    ws.ws_row = rows;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (::chdir((cwd.empty() ? r.path() : cwd).c_str()) != 0) ::_exit(126);
      ::execve(cargv[0], cargv.data(), cenv.data());
      ::_exit(127);
    }
  }
  ~PtyRun() {
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(master_);
  }

  void send(const std::string& bytes) {
    mark_ = raw_.size();
    REQUIRE(::write(master_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  // Waits until `text` shows in the output since the last send (escape
  // sequences removed).
  bool shows(const std::string& text, std::chrono::milliseconds timeout = 15s) {
    return wait_until(
        [&] {
          pump(50);
          return screen_since(mark_).find(text) != std::string::npos;
        },
        timeout, 1ms);
  }
  int wait_exit(std::chrono::milliseconds timeout = 15s) {
    int status = 0;
    const bool done = wait_until(
        [&] {
          pump(20);
          return ::waitpid(pid_, &status, WNOHANG) == pid_;
        },
        timeout, 1ms);
    REQUIRE_MESSAGE(done, "para monitor did not exit; it printed:\n" << screen_since(0));
    pump(50);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }
  void resize(unsigned short cols, unsigned short rows) {
    winsize ws = {};
    ws.ws_col = cols;
    ws.ws_row = rows;
    mark_ = raw_.size();
    REQUIRE(::ioctl(master_, TIOCSWINSZ, &ws) == 0);
  }
  termios settings() const {
    termios t = {};
    ::tcgetattr(master_, &t);
    return t;
  }
  pid_t pid() const { return pid_; }
  const std::string& raw() const { return raw_; }
  std::string screen_since(size_t from) const {
    return std::regex_replace(raw_.substr(from),
                              std::regex("\x1b(\\[[0-9;?]*[A-Za-z]|\\][^\x07]*\x07)"), "");
  }

 private:
  void pump(int wait_ms) {
    pollfd p = {master_, POLLIN, 0};
    while (::poll(&p, 1, wait_ms) > 0) {
      char buf[8192];
      const ssize_t n = ::read(master_, buf, sizeof buf);
      if (n <= 0) return;  // EIO once the child is gone
      raw_.append(buf, static_cast<size_t>(n));
      wait_ms = 0;
    }
  }

  int master_ = -1;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string raw_;
  size_t mark_ = 0;
};

nlohmann::json session_named(const ParaRepo& r, const std::string& name) {
  const nlohmann::json list = r.para_json({"list"});  // the loop must not outlive it
  for (const nlohmann::json& s : list["sessions"]) {
    if (s["name"] == name) return s;
  }
  return nullptr;
}

void start_two_sessions(const ParaRepo& r) {
  r.set_agent({r.script("agent.sh", "#!/bin/sh\necho working\nexec sleep 300\n")});
  REQUIRE(r.para({"start", "alpha"}).exit_code == 0);
  REQUIRE(r.para({"start", "beta", "-p", "the beta task"}).exit_code == 0);
  write_text(r.worktree("alpha") + "/new.txt", "new\n");
}

TEST_CASE("monitor: shows the sessions; finishes, cancels and inspects them by key") {
  ParaRepo r;
  start_two_sessions(r);
  const termios before = PtyRun(r, {"--version"}).settings();
  PtyRun m(r, {"monitor"});
  REQUIRE(m.shows("2 sessions"));
  CHECK(m.shows("> beta"));  // the newest first, selected
  CHECK(m.shows("the beta task"));
  CHECK(m.shows("running"));

  m.send("j");
  REQUIRE(m.shows("> alpha"));
  m.send("d");
  CHECK(m.shows("Changes in alpha"));
  CHECK(m.shows("new.txt | 1 +"));
  m.send("x");  // any key returns
  CHECK(m.shows("NAME"));

  m.send("i");
  CHECK(m.shows("Details of alpha"));
  CHECK(m.shows("Branch:   para/alpha (from main)"));
  CHECK(m.shows("Sandbox:  off"));
  CHECK(m.shows("Changes:  uncommitted"));
  m.send("x");
  m.send("y");  // the name, to the terminal's clipboard
  CHECK(m.shows("Copied alpha"));
  CHECK(m.raw().find("\x1b]52;c;YWxwaGE=\x07") != std::string::npos);

  m.send("f");
  REQUIRE(m.shows("Commit message for alpha"));
  m.send("add the new filx");
  const std::string backspace = "\x7f";
  // UTF-8 text; Backspace takes a whole character.
  m.send(backspace + "e (d\xc3\xa9j\xc3\xa0 vu)\xc3\xa9" + backspace + "\r");
  REQUIRE(m.shows("Session 'alpha' finished"));
  CHECK(session_named(r, "alpha")["status"] == "Review");
  CHECK(trim(r.repo().git({"log", "-1", "--format=%s", "para/alpha"}).out) ==
        "add the new file (d\xc3\xa9j\xc3\xa0 vu)");

  m.send("k");
  REQUIRE(m.shows("> beta"));
  m.send("l");
  CHECK(m.shows("Log of beta"));
  CHECK(m.shows("working"));
  m.send("x");
  // The proxy's decisions (lines in the decision log's format).
  write_text(r.state_dir() + "/beta.network.log",
             R"({"time":"2026-11-29T10:00:01.000000Z","host":"registry.npmjs.org","port":443,)"
             R"("decision":"allow","reason":"allowlisted","bytes_up":517,"bytes_down":9000})"
             "\n"
             R"({"time":"2026-11-29T10:00:02.000000Z","host":"evil.test","port":443,)"
             R"("decision":"deny","reason":"not in the allowlist","bytes_up":0,"bytes_down":0})"
             "\n");
  m.send("n");
  CHECK(m.shows("Network decisions of beta"));
  CHECK(m.shows("10:00:01  allow  registry.npmjs.org:443  allowlisted  up 517 B, down 9000 B"));
  CHECK(m.shows("10:00:02  deny  evil.test:443  not in the allowlist"));
  m.send("x");
  m.send("c");
  REQUIRE(m.shows("Cancel beta?"));
  m.send("n");
  CHECK(m.shows("Nothing changed."));
  CHECK(session_named(r, "beta")["status"] == "Active");

  // Uncommitted work: cancel asks again before it is lost.
  write_text(r.worktree("beta") + "/unsaved.txt", "x\n");
  m.send("c");
  REQUIRE(m.shows("Cancel beta?"));
  m.send("y");
  REQUIRE(m.shows("anyway and lose that work? [y/N]"));
  CHECK(m.shows("unsaved.txt"));
  CHECK(session_named(r, "beta")["status"] == "Active");
  m.send("y");
  REQUIRE(m.shows("Session 'beta' cancelled"));
  CHECK(session_named(r, "beta").is_null());
  CHECK(m.shows("1 session"));

  m.send("q");
  CHECK(m.wait_exit() == 0);
  // The screen and the terminal's settings are given back.
  CHECK(m.raw().rfind("\x1b[?1049l") != std::string::npos);
  CHECK(m.raw().rfind("\x1b[?1049l") > m.raw().rfind("\x1b[?1049h"));
  const termios after = m.settings();
  CHECK(after.c_lflag == before.c_lflag);
  CHECK(after.c_iflag == before.c_iflag);
  CHECK(after.c_oflag == before.c_oflag);
}

TEST_CASE("monitor: redraws for a new size; SIGTERM ends it and restores the terminal") {
  ParaRepo r;
  start_two_sessions(r);
  const termios before = PtyRun(r, {"--version"}).settings();
  write_text(r.state_dir() + "/broken.state", "{ not json");
  PtyRun m(r, {"monitor"});
  REQUIRE(m.shows("q quit"));  // the whole key help fits 120 columns
  CHECK(m.shows("1 left behind by interrupted commands: para clean"));
  m.resize(50, 10);
  REQUIRE(m.shows("…"));  // now it is cut to 50
  const std::string frame = m.screen_since(m.raw().rfind("\x1b[H"));
  CHECK(frame.find("q quit") == std::string::npos);
  ::kill(m.pid(), SIGTERM);
  CHECK(m.wait_exit() == 0);
  CHECK(m.raw().rfind("\x1b[?1049l") > m.raw().rfind("\x1b[?1049h"));
  CHECK(m.settings().c_lflag == before.c_lflag);
  // Nothing was changed by looking.
  CHECK(session_named(r, "alpha")["status"] == "Active");
  CHECK(session_named(r, "beta")["status"] == "Active");
}

TEST_CASE("monitor: bare para in a repository's terminal opens it; Escape and Ctrl-C quit") {
  ParaRepo r;
  start_two_sessions(r);
  {
    PtyRun m(r, {});
    REQUIRE(m.shows("para monitor"));
    m.send("\x1b");
    CHECK(m.wait_exit() == 0);
  }
  {
    // Outside a repository, bare para is the help, as without a terminal.
    PtyRun outside(r, {}, 120, 24, r.scratch());
    CHECK(outside.wait_exit() == 2);
    CHECK(outside.screen_since(0).find("Usage: para <COMMAND>") != std::string::npos);
  }
  PtyRun m(r, {"monitor"});
  REQUIRE(m.shows("2 sessions"));
  m.send("f");
  REQUIRE(m.shows("Commit message for beta"));
  m.send("\x1b");  // Escape gives up the prompt, not the view
  CHECK(m.shows("q quit"));
  m.send("\x03");
  CHECK(m.wait_exit() == 0);
  CHECK(session_named(r, "beta")["status"] == "Active");
}

TEST_CASE("monitor: refuses without a terminal; bare para then prints the help") {
  ParaRepo r;
  Completed c = r.para({"monitor"});
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("needs a terminal") != std::string::npos);
  CHECK(c.out.empty());
  c = r.para({});
  CHECK(c.exit_code == 2);
  CHECK(c.out.find("Usage: para <COMMAND>") != std::string::npos);
  c = r.para({"monitor", "extra"});
  CHECK(c.exit_code == 2);
}

TEST_CASE("monitor: a task cannot write escape sequences to the terminal") {
  ParaRepo r;
  r.set_agent({r.script("agent.sh", "#!/bin/sh\nexec sleep 300\n")});
  const std::string evil = "\x1b]52;c;cHduZWQ=\x07\x1b[2Jowned";
  REQUIRE(r.para({"start", "evil", "-p", evil}).exit_code == 0);
  PtyRun m(r, {"monitor"});
  REQUIRE(m.shows("owned"));
  m.send("q");
  CHECK(m.wait_exit() == 0);
  CHECK(m.raw().find("\x1b]52;c;cHduZWQ=") == std::string::npos);
  CHECK(m.raw().find("\x1b[2Jowned") == std::string::npos);
}

TEST_CASE("logs on a terminal keep colour, diffs get para's; other escape sequences are inert") {
  ParaRepo r;
  // OSC 52 writes the clipboard, OSC 0 the title; \r would overwrite "spoof";
  // SGR 8 conceals text.
  const std::string hostile =
      "\\033[31mRED\\033[0m \\033]52;c;ZXZpbA==\\007 \\033]0;TITLE\\007 "
      "\\033[8mHIDDEN\\033[0m spoof\\rok";
  r.set_agent({r.script("agent.sh", "#!/bin/sh\nprintf '" + hostile + "\\n'\nprintf '" + hostile +
                                        "\\n' > f.txt\n")});
  REQUIRE(r.para({"start", "esc", "-p", "x"}).exit_code == 0);
  REQUIRE(r.para({"wait", "esc"}).exit_code == 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"logs", "esc"}, std::vector<std::string>{"diff", "esc"}}) {
    CAPTURE(args[0]);
    PtyRun run(r, args);
    CHECK(run.wait_exit() == 0);
    if (args[0] == "logs") {
      CHECK(run.raw().find("\x1b[31mRED\x1b[0m") != std::string::npos);  // colour stays
    } else {
      // A file's bytes never colour a diff; para marks the added line.
      CHECK(run.raw().find("\x1b[32m+?[31mRED?[0m") != std::string::npos);
    }
    CHECK(run.raw().find("?[8mHIDDEN") != std::string::npos);        // shown
    CHECK(run.raw().find("?]52;c;ZXZpbA==?") != std::string::npos);  // shown, inert
    CHECK(run.raw().find("\x1b]") == std::string::npos);
    CHECK(run.raw().find("spoof\r\nok") != std::string::npos);  // the pty adds \r to \n
    // Piped, the bytes are the agent's.
    Completed piped = r.para(args);
    CHECK(piped.out.find("\x1b]52;c;ZXZpbA==\x07") != std::string::npos);
  }
}

}  // namespace
}  // namespace para::test
