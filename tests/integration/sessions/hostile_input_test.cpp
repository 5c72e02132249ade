// Must-show 3 and 4 of issue 2: hostile text reaches the agent and git byte
// for byte and runs nothing; bad input is a clear error that changes nothing.

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kHostile[] = {
    "$(touch PWNED)",
    "`touch PWNED`",
    "a; touch PWNED",
    "a | touch PWNED",
    "a && touch PWNED\n; rm -rf /",
    "line one\nline two\n\nline four",
    "\"double\" and 'single' quotes",
    "non-ASCII: é ü 日本語 🚀",
    "-rf --help",
    "  leading and trailing spaces  ",
};

bool agent_done(const ParaRepo& r, const std::string& name) {
  json list = r.para_json({"list"});
  for (const json& s : list["sessions"]) {
    if (s["name"] == name) return s["agent"]["state"] != "running";
  }
  return false;
}

// A big text without NUL bytes, mixing lines, quotes, shell syntax and UTF-8.
std::string megabyte_text() {
  std::string out;
  int i = 0;
  while (out.size() < (1u << 20)) {
    out += "line " + std::to_string(i++) + " $(touch PWNED) `x` ; | & \"q\" 'q' é\n";
  }
  return out;
}

}  // namespace

TEST_SUITE("integration/sessions/hostile") {
  TEST_CASE("prompts reach the agent byte-exact as one argv element and execute nothing") {
    ParaRepo r;
    const std::string out_dir = r.scratch() + "/out";
    fs::create_directories(out_dir);
    r.set_agent({r.script("agent.sh", "#!/bin/sh\nprintf '%s' \"$1\" > \"" + out_dir +
                                          "/$PARA_SESSION.arg\"\ncat \"$2\" > \"" + out_dir +
                                          "/$PARA_SESSION.file\"\n"),
                 "{prompt}", "{prompt_file}"});
    int i = 0;
    for (const char* prompt : kHostile) {
      const std::string name = "h" + std::to_string(i++);
      CAPTURE(prompt);
      Completed c = r.para({"start", name, "-p", prompt});
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
      REQUIRE(wait_until([&] { return agent_done(r, name); }));
      CHECK(read_text(out_dir + "/" + name + ".arg") == prompt);
      CHECK(read_text(out_dir + "/" + name + ".file") == prompt);
    }
    CHECK_FALSE(fs::exists(r.path() + "/PWNED"));
    for (int j = 0; j < i; ++j)
      CHECK_FALSE(fs::exists(r.worktree("h" + std::to_string(j)) + "/PWNED"));
  }

  TEST_CASE("a 1 MB prompt reaches the agent byte-exact through {prompt_file} and -f") {
    ParaRepo r;
    const std::string out = r.scratch() + "/big.out";
    r.set_agent(
        {r.script("agent.sh", "#!/bin/sh\ncat \"$1\" > \"" + out + "\"\n"), "{prompt_file}"});
    const std::string big = megabyte_text();
    write_text(r.scratch() + "/task.md", big);
    Completed c = r.para({"start", "big", "-f", r.scratch() + "/task.md"});
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    REQUIRE(wait_until([&] { return agent_done(r, "big"); }));
    CHECK(read_text(out) == big);
    CHECK_FALSE(fs::exists(r.path() + "/PWNED"));
  }

  TEST_CASE("a prompt too long for one argument is refused before anything is created") {
    ParaRepo r;
    r.set_agent({"/bin/true", "{prompt}"});
    write_text(r.scratch() + "/task.md", megabyte_text());
    const std::string before = r.snapshot();
    Completed c = r.para({"start", "toolong", "-f", r.scratch() + "/task.md"});
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("{prompt_file}") != std::string::npos);
    CHECK(r.snapshot() == before);
  }

  TEST_CASE("commit messages reach git byte-exact, including 1 MB and every metacharacter") {
    ParaRepo r;
    std::vector<std::string> messages(std::begin(kHostile), std::end(kHostile));
    messages.push_back(megabyte_text());
    int i = 0;
    for (const std::string& message : messages) {
      const std::string name = "m" + std::to_string(i++);
      CAPTURE(message.substr(0, 40));
      REQUIRE(r.para({"start", name}).exit_code == 0);
      write_text(r.worktree(name) + "/f.txt", name);
      // "--": a message may start with '-'. A 1 MB message is more than one
      // argument may hold, so it goes through -F.
      write_text(r.scratch() + "/message", message);
      Completed c = message.size() > 100000
                        ? r.para({"finish", "-F", r.scratch() + "/message", name})
                        : r.para({"finish", "--", message, name});
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
      CHECK(r.repo().git({"log", "-1", "--format=%B", "para/" + name}).out == message + "\n");
    }
    CHECK_FALSE(fs::exists(r.path() + "/PWNED"));
  }

  TEST_CASE("bad session names are clear errors that change nothing") {
    ParaRepo r;
    REQUIRE(r.para({"start", "taken"}).exit_code == 0);
    const std::string before = r.snapshot();
    struct Row {
      std::string name, expect;
    };
    const Row rows[] = {{"../x", "'.'"},
                        {"a b", "' '"},
                        {"-rf", "must start with a letter or digit"},
                        {"..", "'.'"},
                        {std::string(300, 'n'), "300 characters"},
                        {"taken", "already exists"},
                        {"", "empty"},
                        {"x\ny", "not allowed"}};
    for (const Row& row : rows) {
      CAPTURE(row.name);
      // "--" so that a name starting with '-' is a name, not an option.
      Completed c = r.para({"start", "--", row.name});
      CHECK(c.exit_code == 1);
      CHECK(c.err.find(row.expect) != std::string::npos);
      CHECK(c.err.rfind("para: ", 0) == 0);
      CHECK(r.snapshot() == before);
    }
  }

  TEST_CASE("every command refuses a bad session name before it touches a path") {
    ParaRepo r;
    REQUIRE(r.para({"start", "zz"}).exit_code == 0);
    const std::string before = r.snapshot();
    const std::vector<std::vector<std::string>> commands = {{"cancel", "--force", "--"},
                                                            {"finish", "message", "--"},
                                                            {"resume", "--"},
                                                            {"logs", "--"},
                                                            {"status", "show", "--"}};
    for (const std::string name : {"./zz", "../../../outside", "zz/../zz", "archived"}) {
      for (std::vector<std::string> args : commands) {
        args.push_back(name);
        CAPTURE(args);
        Completed c = r.para(args);
        CHECK(c.exit_code != 0);
        CHECK(c.err.find("session name") != std::string::npos);
        CHECK(r.snapshot() == before);
      }
    }
    CHECK_FALSE(fs::exists(r.path() + "/outside.lock"));
    CHECK_FALSE(fs::exists(fs::path(r.path()).parent_path() / "outside.lock"));
    CHECK(fs::is_directory(r.worktree("zz")));
  }

  TEST_CASE("starting outside a repository, without commits or on a detached HEAD is refused") {
    SUBCASE("not a git repository") {
      TempDir dir;
      Completed c =
          run_cmd({built_binary("para"), "start", "x"}, isolated_env(dir.path()), dir.path());
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("not inside a git repository") != std::string::npos);
      CHECK(fs::is_empty(dir.path()));
    }
    SUBCASE("a repository without commits") {
      ParaRepo r(false);
      const std::string before = r.snapshot();
      Completed c = r.para({"start", "x"});
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("no commits") != std::string::npos);
      CHECK(r.snapshot() == before);
      CHECK_FALSE(fs::exists(r.path() + "/.para"));
    }
    SUBCASE("a detached HEAD") {
      ParaRepo r;
      r.repo().git_out({"checkout", "-q", "--detach"});
      const std::string before = r.snapshot();
      Completed c = r.para({"start", "x"});
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("detached") != std::string::npos);
      CHECK(r.snapshot() == before);
    }
  }

  TEST_CASE("cancel with uncommitted changes needs --force and changes nothing without it") {
    ParaRepo r;
    REQUIRE(r.para({"start", "dirty"}).exit_code == 0);
    write_text(r.worktree("dirty") + "/new.txt", "unsaved\n");
    const std::string before = r.snapshot();
    Completed c = r.para({"cancel", "dirty"});
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("uncommitted changes") != std::string::npos);
    CHECK(c.err.find("new.txt") != std::string::npos);
    CHECK(c.err.find("--force") != std::string::npos);
    CHECK(r.snapshot() == before);
    CHECK(read_text(r.worktree("dirty") + "/new.txt") == "unsaved\n");
  }

  TEST_CASE("finish with nothing to commit succeeds without an empty commit") {
    ParaRepo r;
    REQUIRE(r.para({"start", "clean"}).exit_code == 0);
    const std::string tip = r.repo().git_out({"rev-parse", "para/clean"});
    json done = r.para_json({"finish", "nothing", "clean"});
    CHECK(done["committed"] == false);
    CHECK(r.repo().git_out({"rev-parse", "para/clean"}) == tip);
  }

  TEST_CASE("an agent's status text reaches the terminal without its escape sequences") {
    ParaRepo r;
    REQUIRE(r.para({"start", "esc"}).exit_code == 0);
    // Set the window title, clear the screen, reverse "exe.txt" (U+202E).
    const std::string task =
        "evil \x1b]0;PWNED\x07\x1b[2J \xe2\x80\xae"
        "exe.txt 日本語";
    Completed update = r.para({"status", task, "--tests", "passed"}, r.worktree("esc"));
    REQUIRE_MESSAGE(update.exit_code == 0, update.err);

    Completed text = r.para({"status", "show"});
    REQUIRE(text.exit_code == 0);
    CHECK(text.out.find('\x1b') == std::string::npos);
    CHECK(text.out.find('\x07') == std::string::npos);
    CHECK(text.out.find("\xe2\x80\xae") == std::string::npos);
    // Cut to the task column's 30 columns on a character boundary.
    CHECK(text.out.find("evil ?]0;PWNED??[2J ?exe.txt …") != std::string::npos);
    // The data itself is kept byte for byte: JSON carries it escaped.
    CHECK(r.para_json({"status", "show", "esc"})["status"]["current_task"] == task);
  }

  TEST_CASE("prompts and status text that are not UTF-8 are refused; long tasks cut cleanly") {
    ParaRepo r;
    r.set_agent({"true"});
    write_text(r.scratch() + "/latin1.txt", "caf\xe9 task\n");
    const std::string before = r.snapshot();
    Completed latin = r.para({"start", "lat", "-f", r.scratch() + "/latin1.txt"});
    CHECK(latin.exit_code == 1);
    CHECK(latin.err.find("the prompt file is not UTF-8 text") != std::string::npos);
    CHECK(r.snapshot() == before);

    // 499 bytes and then a two-byte character: list cuts before it.
    REQUIRE(
        r.para({"start", "long", "-p", std::string(499, 'a') + "\xc3\xa9 and more"}).exit_code ==
        0);
    json list = r.para_json({"list"});
    REQUIRE(list["sessions"].size() == 1);
    CHECK(list["sessions"][0]["task"] == std::string(499, 'a') + "...");

    Completed status = r.para({"status", "bad \xff", "--tests", "passed"}, r.worktree("long"));
    CHECK(status.exit_code == 1);
    CHECK(status.err.find("the task text is not UTF-8") != std::string::npos);
  }

  TEST_CASE("a corrupt or truncated state file is a clear error and nothing changes") {
    ParaRepo r;
    REQUIRE(r.para({"start", "good"}).exit_code == 0);
    REQUIRE(r.para({"start", "broken"}).exit_code == 0);
    const std::string state = r.state_dir() + "/broken.state";
    const std::string full = read_text(state);
    for (const std::string& content :
         {full.substr(0, full.size() / 2), std::string(), std::string("{\"name\": 5}"),
          std::string("\x01\x02garbage")}) {
      CAPTURE(content);
      write_text(state, content);
      const std::string before = r.snapshot();
      for (const std::vector<std::string>& args :
           {std::vector<std::string>{"finish", "msg", "broken"},
            {"cancel", "broken", "--force"},
            {"resume", "broken"},
            {"list"}}) {
        CAPTURE(args[0]);
        Completed c = r.para(args);
        CHECK(c.exit_code == 1);
        CHECK(c.err.find("broken.state is corrupt") != std::string::npos);
        CHECK(c.err.find("para clean") != std::string::npos);
        CHECK(r.snapshot() == before);
      }
      // The other session is still listed.
      CHECK(r.para({"list"}).out.find("good") != std::string::npos);
    }
  }

  TEST_CASE("config edit: an editor with arguments, a bad draft kept, a stale draft refused") {
    ParaRepo r;
    const std::string config = r.repo().home() + "/.config/para/config.toml";
    REQUIRE(r.para({"config", "set", "session.preserve_on_finish", "true"}).exit_code == 0);
    auto edit_with = [&](const std::string& body) {
      const std::string editor =
          r.script("editor.sh", "#!/bin/sh\n[ \"$1\" = --wait ] || exit 3\n" + body);
      std::vector<std::string> env = r.env();
      env.push_back("VISUAL=" + editor + " --wait");  // as "code --wait" is written
      return run_cmd({built_binary("para"), "config", "edit"}, env, r.path());
    };
    // A draft that is not valid TOML: refused, kept, the file unchanged.
    const std::string before = read_text(config);
    Completed bad = edit_with("printf 'not toml [' > \"$2\"\n");
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("Your draft is kept in " + config + ".edit.toml") != std::string::npos);
    CHECK(read_text(config) == before);
    // The configuration changes meanwhile: saving the old draft would undo that.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(r.para({"config", "set", "git.auto_stage", "false"}).exit_code == 0);
    const std::string changed = read_text(config);
    Completed stale = edit_with("printf '[git]\\nauto_stage = true\\n' > \"$2\"\n");
    CHECK(stale.exit_code == 1);
    CHECK(stale.err.find("is older than " + config + ", which changed since") != std::string::npos);
    CHECK(read_text(config) == changed);
    // Without the old draft, an edit is saved (and its draft removed).
    std::filesystem::remove(config + ".edit.toml");
    Completed ok = edit_with("printf '[git]\\nauto_stage = true\\n' > \"$2\"\n");
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    CHECK(read_text(config) == "[git]\nauto_stage = true\n");
    CHECK_FALSE(std::filesystem::exists(config + ".edit.toml"));
  }

  TEST_CASE("a config value of the wrong type is refused and the file is unchanged") {
    ParaRepo r;
    const std::string config = r.repo().home() + "/.config/para/config.toml";
    REQUIRE(r.para({"config", "set", "session.preserve_on_finish", "true"}).exit_code == 0);
    const std::string before = read_text(config);
    struct Row {
      std::vector<std::string> args;
      std::string expect;
    };
    const Row rows[] = {
        {{"config", "set", "session.preserve_on_finish", "maybe"}, "true or false"},
        {{"config", "set", "session.auto_cleanup_days", "ten"}, "a whole number"},
        {{"config", "set", "session.auto_cleanup_days", "0"}, "must be at least 1"},
        {{"config", "set", "sandbox.profile", "wide-open"}, "must be one of"},
        {{"config", "set", "no.such.key", "1"}, "unknown config key"},
        {{"config", "set", "git.branch_prefix", "a b"}, "does not match the pattern"},
    };
    for (const Row& row : rows) {
      CAPTURE(row.args[2]);
      Completed c = r.para(row.args);
      CHECK(c.exit_code == 1);
      CHECK(c.err.find(row.expect) != std::string::npos);
      CHECK(read_text(config) == before);
    }
    // A hand-edited file of the wrong type is reported by every command.
    write_text(config, "[sandbox]\nenabled = \"yes\"\n");
    Completed c = r.para({"list"});
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("sandbox.enabled: expected boolean, got string") != std::string::npos);
  }

  TEST_CASE("bad flags are usage errors with exit code 2") {
    ParaRepo r;
    CHECK(r.para({"start", "--no-such-flag"}).exit_code == 2);
    CHECK(r.para({"finish"}).exit_code == 2);
    CHECK(r.para({"nonsense"}).exit_code == 2);
    CHECK(r.para({"start", "--help"}).exit_code == 0);
    Completed both = r.para({"start", "x", "-p", "a", "-f", "b"});
    CHECK(both.exit_code == 1);
    CHECK(both.err.find("not both") != std::string::npos);
  }

  TEST_CASE("the hidden supervisor command refuses malformed arguments and starts nothing") {
    ParaRepo r;
    const std::string before = r.snapshot();
    const std::string git_dir = r.path() + "/.git";
    for (const std::vector<std::string>& extra :
         std::vector<std::vector<std::string>>{{},
                                               {"s", "9"},
                                               {"s", "9", git_dir, "bogus"},
                                               {"s", "9", git_dir, "container", ""},
                                               {"s", "9", git_dir, "container", "img", "more"}}) {
      std::vector<std::string> args = {"__supervise", r.path()};
      args.insert(args.end(), extra.begin(), extra.end());
      Completed c = r.para(args);
      CAPTURE(c.err);
      CHECK(c.exit_code == 2);
      CHECK(c.err.find("usage") != std::string::npos);
    }
    CHECK(live_supervisors(r.path()).empty());
    CHECK(r.snapshot() == before);
  }
}

}  // namespace para::test
