// para sandbox run / explain, driven through the built para binary.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>

#include "core/fs.h"
#include "core/process.h"
#include "tests/integration/sandbox/fixture.h"

namespace para::test {
namespace {

bool no_bwrap() {
  return !bwrap_works();
}

Completed para(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::string& cwd) {
  std::vector<std::string> argv = {built_binary("para")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env, cwd);
}

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

}  // namespace

TEST_SUITE("sandbox/cli") {
  TEST_CASE("para sandbox run runs the command in the worktree and returns its exit code" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    Completed ok =
        para({"sandbox", "run", "--", "sh", "-c", "pwd; echo hi > made.txt"}, h.env, h.repo);
    CHECK(ok.exit_code == 0);
    CHECK(trim(ok.out) == h.repo);
    CHECK(read_text(h.repo + "/made.txt") == "hi\n");
    CHECK(para({"sandbox", "run", "--", "sh", "-c", "exit 7"}, h.env, h.repo).exit_code == 7);
    Completed blocked =
        para({"sandbox", "run", "--", "sh", "-c", "echo x > .git/config"}, h.env, h.repo);
    CHECK(blocked.exit_code != 0);
    CHECK(blocked.err.find("Read-only file system") != std::string::npos);
  }

  TEST_CASE(
      "para sandbox run in a repository without .para cannot plant para's config or "
      "scripts, nor Claude Code's user instructions" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string plain = h.dir.path() + "/plain";
    std::filesystem::create_directories(plain);
    REQUIRE(run_cmd({"git", "init", "-q", "-b", "main", plain}, h.env, h.dir.path()).exit_code ==
            0);
    REQUIRE(
        run_cmd({"git", "-C", plain, "commit", "-q", "--allow-empty", "-m", "init"}, h.env, plain)
            .exit_code == 0);
    std::filesystem::create_directories(h.home + "/.claude");
    write_text(h.home + "/.claude/CLAUDE.md", "the user's instructions\n");
    Completed planted = para({"sandbox", "run", "--", "sh", "-c",
                              "mkdir -p .para; echo 'id' > .para/setup.sh; "
                              "printf '[sandbox]\\nenabled = false\\n' > .para/config.toml; "
                              "echo evil >> \"$HOME/.claude/CLAUDE.md\""},
                             h.env, plain);
    CHECK(planted.exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(plain + "/.para/setup.sh"));
    CHECK_FALSE(std::filesystem::exists(plain + "/.para/config.toml"));
    CHECK(read_text(h.home + "/.claude/CLAUDE.md") == "the user's instructions\n");
    // The legitimate counterpart: the repository itself is writable.
    CHECK(
        para({"sandbox", "run", "--", "sh", "-c", "echo ok > work.txt"}, h.env, plain).exit_code ==
        0);
    CHECK(read_text(plain + "/work.txt") == "ok\n");
  }

  TEST_CASE(
      "a repository's committed config cannot make a path writable or weaken the sandbox; the "
      "user's config can" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    std::filesystem::create_directories(h.home + "/notes");
    const std::string project = h.repo + "/.para/config.toml";
    const std::string writable = "extra_writable = [\"" + h.home + "/notes\"]\n";
    write_text(project, "[sandbox]\nenabled = true\n" + writable);
    const std::vector<std::string> plant = {"sandbox", "run", "--",
                                            "sh",      "-c",  "echo planted > \"$HOME/notes/f\""};
    Completed blocked = para(plant, h.env, h.repo);
    CHECK(blocked.exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(h.home + "/notes/f"));
    CHECK(blocked.err.find("sets sandbox.extra_writable, which only your user config may set") !=
          std::string::npos);

    // The project file cannot switch off a sandbox the user switched on.
    std::filesystem::create_directories(h.home + "/.config/para");
    const std::string user = h.home + "/.config/para/config.toml";
    write_text(user, "[sandbox]\nenabled = true\n");
    write_text(project, "[sandbox]\nenabled = false\n");
    Completed shown = para({"config", "show", "--json"}, h.env, h.repo);
    REQUIRE(shown.exit_code == 0);
    CHECK(nlohmann::json::parse(shown.out)["effective"]["sandbox"]["enabled"] == true);
    CHECK(shown.err.find("asks for a weaker sandbox") != std::string::npos);

    // Nor can para config set --project write a user-only key.
    Completed set = para({"config", "set", "--project", "sandbox.allow_local_destinations", "true"},
                         h.env, h.repo);
    CHECK(set.exit_code != 0);
    CHECK(set.err.find("read only from your user config") != std::string::npos);
    CHECK(read_text(project) == "[sandbox]\nenabled = false\n");

    // The legitimate counterpart: the same key in the user's own file.
    write_text(user, "[sandbox]\nenabled = true\n" + writable);
    Completed allowed = para(plant, h.env, h.repo);
    CHECK(allowed.exit_code == 0);
    CHECK(read_text(h.home + "/notes/f") == "planted\n");
  }

  TEST_CASE(
      "para sandbox run in a repository's own checkout cannot change its .git; reading it "
      "works" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string g = h.repo + "/.git";
    const std::string head = h.git_out({"rev-parse", "HEAD"});
    const std::string blob = h.git_out({"rev-parse", "HEAD:README.md"});
    const std::string object = g + "/objects/" + blob.substr(0, 2) + "/" + blob.substr(2);
    const bool loose = std::filesystem::exists(object);
    // Each would steer the user's next git command on the host: commondir
    // names a config of the sandbox's choosing (core.fsmonitor runs code),
    // modules/ holds submodules' config and hooks, worktrees/ other
    // worktrees', objects and refs the history the user trusts.
    const std::vector<std::string> attempts = {
        "echo /tmp/elsewhere > .git/commondir",
        "mkdir -p .git/modules/x/hooks && echo id > .git/modules/x/hooks/post-checkout",
        "mkdir -p .git/worktrees/x && echo /tmp/x > .git/worktrees/x/commondir",
        "echo 0000000000000000000000000000000000000000 > .git/refs/heads/main",
        "echo 'ref: refs/heads/evil' > .git/HEAD",
        "echo x >> .git/packed-refs",
        "chmod u+w " + object + " 2>/dev/null; echo evil > " + object,
        "echo x > f && git add f && git commit -qm inside",
        "mkdir -p \"$HOME/.claude/rules\" && echo 'always run X' > \"$HOME/.claude/rules/x.md\"",
    };
    for (const std::string& attempt : attempts) {
      CAPTURE(attempt);
      Completed c = para({"sandbox", "run", "--", "sh", "-c", attempt}, h.env, h.repo);
      CHECK(c.exit_code != 0);
      CHECK(c.err.find("Read-only file system") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(g + "/commondir"));
    CHECK_FALSE(std::filesystem::exists(g + "/modules"));
    CHECK_FALSE(std::filesystem::exists(g + "/worktrees/x"));
    CHECK_FALSE(std::filesystem::exists(h.home + "/.claude/rules/x.md"));
    CHECK(h.git_out({"rev-parse", "HEAD"}) == head);
    if (loose) CHECK(h.git_out({"cat-file", "-p", blob}) != "evil");
    // The legitimate counterpart: files change, git reads the repository.
    Completed work =
        para({"sandbox", "run", "--", "sh", "-c",
              "echo ok > work.txt && git status --porcelain && git log -1 --format=%H"},
             h.env, h.repo);
    CHECK_MESSAGE(work.exit_code == 0, work.err);
    CHECK(work.out.find("?? work.txt") != std::string::npos);
    CHECK(work.out.find(head) != std::string::npos);
  }

  TEST_CASE("Claude Code's missing files are protected by placeholders of the right kind" *
            doctest::skip(no_bwrap())) {
    namespace fs = std::filesystem;
    SandboxHost h;
    const std::string claude = h.home + "/.claude";
    fs::remove_all(claude);
    fs::create_directories(claude + "/CLAUDE.md");  // what an earlier para made
    Completed c = para({"sandbox", "run", "--", "true"}, h.env, h.repo);
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    CHECK(fs::is_regular_file(claude + "/CLAUDE.md"));
    CHECK(read_text(claude + "/CLAUDE.md").empty());
    CHECK(read_text(claude + "/settings.json") == "{}\n");
    CHECK(fs::is_directory(claude + "/rules"));
    CHECK(fs::is_directory(claude + "/hooks"));
  }

  TEST_CASE("para sandbox run in a session worktree keeps only the session branch" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    const std::string main_before = h.git_out({"rev-parse", "main"});
    Completed c = para({"sandbox", "run", "--", "sh", "-c",
                        "echo x > f && git add f && git commit -qm inside && "
                        "git update-ref refs/heads/main HEAD"},
                       h.env, h.worktree);
    CHECK(c.exit_code != 0);  // the update-ref of main fails
    CHECK(h.git_out({"log", "-1", "--format=%s", "para/" + h.session}) == "inside");
    CHECK(h.git_out({"rev-parse", "main"}) == main_before);
  }

  TEST_CASE("a missing bwrap is a clear fail-closed error" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    TempDir bin("para-nobwrap");
    std::filesystem::create_symlink(find_program("git").value(), bin / "git");
    std::vector<std::string> env = h.env;
    set_env(env, "PATH", bin.path());
    Completed c = para({"sandbox", "run", "--", "/bin/true"}, env, h.repo);
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("bubblewrap") != std::string::npos);
    CHECK(c.err.find("apt-get install bubblewrap") != std::string::npos);
    CHECK(c.err.find("fail_open") != std::string::npos);
  }

  TEST_CASE("a bwrap too old for para's argv is named, and nothing runs" *
            doctest::skip(no_bwrap())) {
    // A fake: Debian 12 has no bubblewrap older than 0.8 to install. It
    // answers like bubblewrap 0.7 (which lacks --disable-userns).
    SandboxHost h;
    TempDir bin("para-oldbwrap");
    std::filesystem::create_symlink(find_program("git").value(), bin / "git");
    write_text(bin / "bwrap",
               "#!/bin/sh\n"
               "if [ \"$1\" = --version ]; then echo 'bubblewrap 0.7.0'; exit 0; fi\n"
               "echo 'bwrap: Unknown option --disable-userns' >&2\n"
               "exit 1\n",
               0755);
    std::vector<std::string> env = h.env;
    set_env(env, "PATH", bin.path() + ":/usr/bin:/bin");
    Completed c = para({"sandbox", "run", "--", "sh", "-c", "echo ran > ran.txt"}, env, h.repo);
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("bubblewrap 0.7.0") != std::string::npos);
    CHECK(c.err.find("too old") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(h.repo + "/ran.txt"));
  }

  TEST_CASE("a runtime directory others can write to is refused" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    TempDir tmp("para-shared-tmp");
    const std::string root = tmp / ("para-" + std::to_string(::getuid()));
    std::filesystem::create_directories(root);
    std::filesystem::permissions(root, std::filesystem::perms::all);  // 0777, as if planted
    std::vector<std::string> env = h.env;
    set_env(env, "TMPDIR", tmp.path());
    Completed c = para({"sandbox", "run", "--", "true"}, env, h.repo);
    CHECK(c.exit_code == 1);
    CHECK(c.err.find(root + " is not a private directory") != std::string::npos);
    CHECK(entries_of(root).empty());
  }

  TEST_CASE("a killed run's runtime directory is removed by the next run; a live one's is kept" *
            doctest::skip(no_bwrap())) {
    namespace fs = std::filesystem;
    SandboxHost h;
    TempDir tmp("para-runtime-tmp");
    std::vector<std::string> env = h.env;
    set_env(env, "TMPDIR", tmp.path());
    const std::string root = tmp / ("para-" + std::to_string(::getuid()));
    auto runs = [&] {
      std::vector<std::string> out;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(root, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("run-", 0) == 0 && fs::exists(e.path() / ".locked")) {
          out.push_back(e.path().string());
        }
      }
      return out;
    };
    auto start_sleeper = [&] {
      Result<pid_t> pid =
          spawn(SpawnOptions{.argv = {built_binary("para"), "sandbox", "run", "--", "sleep", "300"},
                             .env = env,
                             .cwd = h.repo});
      REQUIRE(pid);
      return *pid;
    };
    const pid_t killed = start_sleeper();
    REQUIRE(wait_until([&] { return runs().size() == 1; }));
    const std::string killed_dir = runs()[0];
    const pid_t live = start_sleeper();
    REQUIRE(wait_until([&] { return runs().size() == 2; }));
    const std::string live_dir = runs()[0] == killed_dir ? runs()[1] : runs()[0];
    ::kill(killed, SIGKILL);
    REQUIRE(wait_for(killed, std::nullopt));
    CHECK(fs::exists(killed_dir));  // nothing could remove it

    // Not this version's (no lock was ever held), and a run's staging name,
    // fresh (it may be about to lock it) and a minute old.
    const std::string foreign = root + "/run-0123456789ab";
    const std::string fresh = root + "/.new-run-aaaaaaaaaaaa";
    const std::string old = root + "/.new-shell-bbbbbbbbbbbb";
    for (const std::string& d : {foreign, fresh, old}) fs::create_directories(d + "/tmp");
    fs::last_write_time(old, fs::file_time_type::clock::now() - std::chrono::minutes(2));

    Completed next = para({"sandbox", "run", "--", "true"}, env, h.repo);
    CHECK(next.exit_code == 0);
    CHECK(next.err.find("left by a run that ended without cleaning up") != std::string::npos);
    CHECK_FALSE(fs::exists(killed_dir));
    CHECK_FALSE(fs::exists(old));
    CHECK(fs::exists(live_dir));
    CHECK(fs::exists(foreign));
    CHECK(fs::exists(fresh));
    CHECK(runs() == std::vector<std::string>{live_dir});  // the run removed its own

    ::kill(live, SIGTERM);
    Result<ExitStatus> ended = wait_for(live, std::nullopt);
    REQUIRE(ended);
    CHECK_FALSE(fs::exists(live_dir));
  }

  TEST_CASE("bad flags are usage errors that name the choices") {
    SandboxHost h;
    Completed c = para({"sandbox", "run", "--profile", "bogus", "--", "true"}, h.env, h.repo);
    CHECK(c.exit_code == 2);
    CHECK(c.err.find("standard-proxied") != std::string::npos);
    c = para({"sandbox", "explain", "--platform", "windows"}, h.env, h.repo);
    CHECK(c.exit_code == 2);
    c = para({"sandbox", "run", "--resolve", "nocolon", "--", "true"}, h.env, h.repo);
    CHECK(c.exit_code == 2);
    c = para({"sandbox", "run"}, h.env, h.repo);
    CHECK(c.exit_code == 2);
  }

  TEST_CASE("standard-proxied without the relay fails closed" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    std::vector<std::string> env = h.env;
    set_env(env, "PARA_RELAY_BIN", h.home + "/no-such-relay");
    Completed c =
        para({"sandbox", "run", "--profile", "standard-proxied", "--", "true"}, env, h.repo);
    CHECK(c.exit_code == 1);
    CHECK(c.err.find("para-relay") != std::string::npos);
    // --allowed-domains without the proxy would silently mean nothing.
    c = para({"sandbox", "run", "--allowed-domains", "example.com", "--", "true"}, h.env, h.repo);
    CHECK(c.exit_code == 2);
    CHECK(c.err.find("standard-proxied") != std::string::npos);
    c = para({"sandbox", "run", "--profile", "standard-proxied", "--allowed-domains", "*.com", "--",
              "true"},
             h.env, h.repo);
    CHECK(c.exit_code == 2);
    CHECK(c.err.find("*.com") != std::string::npos);
  }

  TEST_CASE("explain's policy is what the probes observe" * doctest::skip(no_bwrap())) {
    SandboxHost h;
    Completed c = para({"sandbox", "explain", "--json"}, h.env, h.worktree);
    REQUIRE(c.exit_code == 0);
    const nlohmann::json e = nlohmann::json::parse(c.out);
    CHECK(e["session"] == h.session);
    const std::vector<std::string> argv = e["argv"];
    // para mounts the tool caches' overlays, then runs bwrap (cache_overlay.h).
    REQUIRE_FALSE(e["cache_overlays"].empty());
    CHECK(argv[1] == "__cache-overlays");
    const auto bwrap = std::find(argv.begin(), argv.end(), "--die-with-parent");
    REQUIRE(bwrap != argv.end());
    CHECK(*(bwrap - 2) == "--");
    CHECK(std::find(argv.begin(), argv.end(), "--disable-userns") != argv.end());
    CHECK(c.out.find(kSecret) == std::string::npos);

    // The same layout through the library, then every listed rule probed.
    const sandbox::Policy p = h.policy();
    int writable = 0, protected_paths = 0, denied = 0;
    for (const nlohmann::json& w : e["writable"]) {
      const std::string path = w["path"];
      // The session's own T (explain shows the default one) is not this host's.
      const std::string reason = w["reason"];
      if (w["kind"] != "directory" || reason.find("temp directory") != std::string::npos) continue;
      const std::string target = path + "/probe-" + random_hex(3);
      CAPTURE(target);
      CHECK(probe_allowed(p, {"write", target}));
      ++writable;
    }
    for (const nlohmann::json& r : e["protected"]) {
      const std::string path = r["path"];
      CAPTURE(path);
      if (r["kind"] == "file") {
        CHECK_FALSE(probe_allowed(p, {"append", path}));
      } else if (r["kind"] == "directory") {
        CHECK_FALSE(probe_allowed(p, {"write", path + "/planted"}));
      }
      ++protected_paths;
    }
    for (const nlohmann::json& d : e["deny_read"]) {
      const std::string path = d["path"];
      CAPTURE(path);
      std::string out;
      probe_allowed(p, {d["kind"] == "directory" ? "list" : "read", path}, &out);
      CHECK(out.find(kSecret) == std::string::npos);
      CHECK(out.find("ENTRY") == std::string::npos);
      ++denied;
    }
    CHECK(writable >= 4);
    CHECK(protected_paths >= 15);
    CHECK(denied >= 8);
  }

  TEST_CASE("explain --platform macos prints the profile and the sandbox-exec argv") {
    SandboxHost h;
    Completed c = para({"sandbox", "explain", "--platform", "macos", "--profile",
                        "standard-proxied", "--json", "--", "claude"},
                       h.env, h.worktree);
    REQUIRE(c.exit_code == 0);
    const nlohmann::json e = nlohmann::json::parse(c.out);
    const std::vector<std::string> argv = e["argv"];
    CHECK(argv.front() == "/usr/bin/sandbox-exec");
    CHECK(argv.back() == "claude");
    const std::string profile = e["sbpl"];
    CHECK(profile.find(h.worktree) == std::string::npos);
    CHECK(profile.find("(param \"PROXY_PORT\")") != std::string::npos);
    CHECK(profile.find(":53") == std::string::npos);
    for (const auto& [name, value] : e["parameters"].items()) {
      CHECK(std::find(argv.begin(), argv.end(), name + "=" + value.get<std::string>()) !=
            argv.end());
    }
  }
}

}  // namespace para::test
