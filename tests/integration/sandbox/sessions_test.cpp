// Sandboxed sessions end to end, through the built para: a network-isolated
// session whose agent tries every egress trick (issue 5, must-show 3),
// resume re-applying the stored sandbox, sandbox.enforce, and the fail-closed
// error without bubblewrap. Agents are shell scripts under the isolated HOME
// (the sandbox hides /tmp). Cost: ~6 agent runs of 0.2-5 s each.

#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "core/fs.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/sandbox/fixture.h"
#include "tests/integration/sandbox/session_fixture.h"

namespace para::test {
namespace {

using nlohmann::json;

bool no_bwrap() {
  return !bwrap_works();
}

// "TRICK name rc=N output..." lines of the agent, by name.
std::map<std::string, std::string> tricks(const std::string& log) {
  std::map<std::string, std::string> out;
  for (const std::string& line : lines_starting(log, "TRICK ")) {
    const size_t space = line.find(' ', 6);
    out[line.substr(6, space - 6)] = line.substr(space + 1);
  }
  return out;
}

}  // namespace

TEST_SUITE("sandbox/sessions") {
  TEST_CASE(
      "a network-isolated session: every egress trick fails and exactly one allowed fetch "
      "is logged" *
      doctest::skip(no_bwrap())) {
    ParaRepo r;
    Certs certs;
    HttpsServer https(certs);
    HttpServer http;
    const LoopbackTargets servers;
    const std::string ca = r.repo().home() + "/test-ca.pem";
    std::filesystem::copy_file(certs.cert(), ca);
    const std::string hs = std::to_string(https.port()), hp = std::to_string(http.port());
    const std::string p = probe_path();
    const std::string curl = "curl -sS --max-time 5 --cacert " + ca;
    // name -> shell command; each line of the agent's log: TRICK name rc=N output
    std::vector<std::pair<std::string, std::string>> attempts;
    for (const auto& t : servers.all()) {
      std::string command = p;
      for (const std::string& a : t.probe) command += " " + a;
      attempts.emplace_back(t.name, command);
    }
    attempts.insert(
        attempts.end(),
        {
            {"icmp", p + " icmp 127.0.0.1"},
            {"resolve", curl + " --noproxy '*' http://allowed.test:" + hp + "/resolve"},
            {"direct-ip", curl + " --noproxy '*' http://127.0.0.1:" + hp + "/direct"},
            {"denied-name", curl + " https://denied.test:" + hs + "/hello"},
            {"ip-literal", curl +
                               " --noproxy '' -x http://127.0.0.1:8877 -o /dev/null -w "
                               "'%{http_code}' http://127.0.0.1:" +
                               hp + "/literal"},
            {"other-port",
             curl + " -o /dev/null -w '%{http_code}' http://allowed.test:" + hp + "/port"},
            {"sni-mismatch", "openssl s_client -proxy 127.0.0.1:8877 -connect allowed.test:" + hs +
                                 " -servername denied.test </dev/null"},
            {"nested",
             p + " proxy-connect 8877 allowed.test:" + hs +
                 " 'CONNECT denied.test:443 HTTP/1.1\\r\\nHost: denied.test\\r\\n\\r\\n'"},
            {"via-itself", p + " proxy-connect 8877 127.0.0.1:8877"},
            {"allowed", curl + " https://allowed.test:" + hs + "/hello"},
        });
    std::string body =
        "#!/bin/sh\n"
        "trick() { name=$1; shift; out=$(\"$@\" 2>&1); rc=$?\n"
        "  printf 'TRICK %s rc=%s %s\\n' \"$name\" \"$rc\" \"$(printf '%s' \"$out\" | tr '\\n' ' "
        "')\"; }\n";
    for (const auto& [name, command] : attempts) body += "trick " + name + " " + command + "\n";
    body += "echo AGENT-DONE\n";
    const std::string agent = r.script("egress.sh", body);
    write_user_config(r, agent);
    Completed start = r.para({"start", "net", "--sandbox-no-network", "--allowed-domains",
                              "allowed.test:" + hs, "-p", "try everything"});
    REQUIRE_MESSAGE(start.exit_code == 0, start.err);
    REQUIRE(wait_until([&] { return agent_done(r, "net"); }, std::chrono::seconds(60)));
    const std::string log = session_log(r, "net");
    INFO(log);
    REQUIRE(log.find("AGENT-DONE") != std::string::npos);
    const std::map<std::string, std::string> t = tricks(log);

    // Direct tricks: refused inside, nothing reached the host's servers.
    for (const char* name : {"tcp4", "tcp6", "udp4", "udp6", "dns", "icmp"}) {
      CAPTURE(name);
      REQUIRE(t.count(name) == 1);
      CHECK(t.at(name).starts_with("rc=1 BLOCKED"));
    }
    CHECK(t.at("resolve").starts_with("rc=6 "));    // no DNS inside
    CHECK(t.at("direct-ip").starts_with("rc=7 "));  // the sandbox's loopback has no server
    CHECK(servers.hits() == 0);
    CHECK(http.requests().empty());
    // Proxy tricks: refused by the proxy.
    CHECK(t.at("denied-name").starts_with("rc=56 "));
    CHECK(t.at("ip-literal").starts_with("rc=0 403"));
    CHECK(t.at("other-port").starts_with("rc=0 403"));
    CHECK(t.at("sni-mismatch").find("rc=0 ") != 0);
    CHECK(t.at("nested").starts_with("rc=1 STATUS 200 BLOCKED"));
    CHECK(t.at("via-itself").starts_with("rc=1 STATUS 403 BLOCKED"));
    // The one legitimate fetch.
    CHECK(t.at("allowed") == "rc=0 hello");

    // The decision log, through para and as the file: one allow, and each
    // refused request with its reason.
    const json logs = r.para_json({"logs", "net", "--network"});
    const json& entries = logs["entries"];
    CHECK(entries.size() == log_lines(r.state_dir() + "/net.network.log").size());
    int allows = 0;
    std::map<std::string, std::string> denied;  // "host:port" -> reason
    for (const json& e : entries) {
      CAPTURE(e.dump());
      CHECK(e["session"] == "net");
      const std::string key =
          e["host"].get<std::string>() + ":" + std::to_string(e["port"].get<int>());
      if (e["decision"] == "allow") {
        ++allows;
        CHECK(key == "allowed.test:" + hs);
        CHECK(e["bytes_down"].get<int>() > 0);
      } else {
        CHECK(e["decision"] == "deny");
        CHECK_FALSE(e["reason"].get<std::string>().empty());
        denied[key] += e["reason"].get<std::string>() + "|";
      }
    }
    CHECK(allows == 1);
    CHECK(denied["denied.test:" + hs].find("denied.test is not on the allow list") !=
          std::string::npos);
    CHECK(denied["127.0.0.1:" + hp].find("not on the allow list") != std::string::npos);
    CHECK(denied["allowed.test:" + hp].find("port " + hp + " is not allowed") != std::string::npos);
    CHECK(denied["allowed.test:" + hs].find("does not match the CONNECT host") !=
          std::string::npos);
    CHECK(denied["allowed.test:" + hs].find("did not start with a TLS ClientHello") !=
          std::string::npos);
    CHECK(denied["127.0.0.1:8877"].find("not on the allow list") != std::string::npos);
    CHECK(denied.size() == 5);
    CHECK(entries.size() == 7);  // 1 allow + 6 refusals (two of them on allowed.test:hs)
  }

  TEST_CASE("a start that fails after its supervisor started the session proxy leaves nothing" *
            doctest::skip(no_bwrap())) {
    // The supervisor is spawned before the worktree is made and starts the
    // session proxy at once; a failure to make the worktree (a stale lock on
    // the branch's ref) must stop it and remove what it made.
    ParaRepo r;
    TempDir runtime("para-rt");
    write_user_config(r, r.script("agent.sh", "#!/bin/sh\necho RAN\n"));
    std::filesystem::create_directories(r.path() + "/.git/refs/heads/para");
    write_text(r.path() + "/.git/refs/heads/para/iso.lock", "");
    for (int attempt = 0; attempt < 2; ++attempt) {
      const std::string before = r.snapshot();
      Completed start = para_with_env(r, {"start", "iso", "--sandbox-no-network", "-p", "go"},
                                      {"TMPDIR=" + runtime.path()});
      CHECK(start.exit_code == 1);
      CHECK(start.err.find("iso.lock") != std::string::npos);
      CHECK(live_supervisors(r.path()).empty());
      // At most the shared para-<uid> directory remains.
      for (const auto& e : std::filesystem::recursive_directory_iterator(runtime.path())) {
        CHECK(e.path().parent_path() == runtime.path());
      }
      CHECK_FALSE(std::filesystem::exists(r.worktree("iso")));
      CHECK_FALSE(std::filesystem::exists(r.state_dir() + "/iso.log"));
      CHECK_FALSE(std::filesystem::exists(r.state_dir() + "/iso.network.log"));
      CHECK(r.repo().git_out({"branch", "--list", "para/*"}).empty());
      if (attempt == 1) CHECK(r.snapshot() == before);
    }
  }

  TEST_CASE("a sandboxed agent cannot truncate or rewrite its session log" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    // Each trick reopens the log the way an agent could if it held the file:
    // through the magic links of its stdout and stderr.
    const std::string agent = r.script("scrub.sh",
                                       "#!/bin/sh\necho 'EVIDENCE the agent ran rm -rf'\n"
                                       ": > /proc/self/fd/1\n"
                                       "echo 'REWRITTEN nothing happened' 1<> /proc/self/fd/2\n"
                                       "truncate -s 0 /proc/self/fd/1 2>/dev/null\n"
                                       "echo 'AGENT-DONE'\n");
    write_user_config(r, agent);
    Completed c = r.para({"start", "scrub", "--sandbox", "-p", "t"});
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    REQUIRE(wait_until([&] { return agent_done(r, "scrub"); }, std::chrono::seconds(30)));
    const std::string log = session_log(r, "scrub");
    INFO(log);
    CHECK(log.find("starting the agent in the sandbox") != std::string::npos);  // para's lines
    CHECK(log.find("EVIDENCE the agent ran rm -rf\n") != std::string::npos);
    CHECK(log.find("AGENT-DONE") != std::string::npos);
    CHECK(log.find("agent exited with code") > log.find("AGENT-DONE"));  // in order
  }

  TEST_CASE("resume re-applies the stored sandbox and proxy; a flag overrides them" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const LoopbackServer tcp4(LoopbackServer::Kind::tcp, "127.0.0.1");
    const std::string agent = r.script(
        "report.sh", "#!/bin/sh\nnet=$(" + probe_path() + " tcp 127.0.0.1 " +
                         std::to_string(tcp4.port()) +
                         " | tail -n 1 | cut -c1-7)\n"
                         "echo \"RUN sandbox=$PARA_SANDBOX proxy=$HTTPS_PROXY net=$net\"\n");
    write_user_config(r, agent);
    auto run_and_report = [&](const std::vector<std::string>& args) {
      Completed c = r.para(args);
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
      REQUIRE(wait_until([&] { return agent_done(r, "rs"); }, std::chrono::seconds(30)));
      const std::vector<std::string> runs = lines_starting(session_log(r, "rs"), "RUN ");
      REQUIRE_FALSE(runs.empty());
      return runs.back();
    };
    const std::string proxied =
        "RUN sandbox=standard-proxied proxy=http://127.0.0.1:8877 net=BLOCKED";
    CHECK(run_and_report({"start", "rs", "--sandbox-no-network", "-p", "one"}) == proxied);
    CHECK(run_and_report({"resume", "rs", "-p", "two"}) == proxied);
    json s = session_state(r, "rs");
    CHECK(s["sandbox_enabled"] == true);
    CHECK(s["network_mode"] == "proxied");
    CHECK(tcp4.hits() == 0);
    CHECK(run_and_report({"resume", "rs", "--sandbox-profile", "standard", "-p", "three"}) ==
          "RUN sandbox=standard proxy= net=ALLOWED");
    s = session_state(r, "rs");
    CHECK(s["sandbox_profile"] == "standard");
    CHECK(s["network_mode"] == "open");
    // And the override is what is stored now: the next resume keeps it.
    CHECK(run_and_report({"resume", "rs", "-p", "four"}) ==
          "RUN sandbox=standard proxy= net=ALLOWED");
  }

  TEST_CASE("finish frees the agent's temp directory and cache layers; a resume gets new ones" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    const std::string cache = r.repo().home() + "/.cache/tool";
    std::filesystem::create_directories(cache);
    const std::string agent = r.script("scratch.sh",
                                       "#!/bin/sh\n"
                                       "head -c 65536 /dev/zero > \"$TMPDIR/scratch\"\n"
                                       "echo pkg > \"$HOME/.cache/tool/planted-$1\"\n"
                                       "echo \"$1\" > \"work-$1.txt\"\n"
                                       "echo \"RUN $1\"\n");
    r.set_agent({agent, "{prompt}"});  // the prompt names each run
    auto run = [&](const std::vector<std::string>& args) {
      Completed c = r.para(args);
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
      REQUIRE(wait_until([&] { return agent_done(r, "fs"); }, std::chrono::seconds(30)));
    };
    run({"start", "fs", "--sandbox", "-p", "one"});
    const std::string runtime = session_state(r, "fs")["runtime_dir"].get<std::string>();
    INFO("runtime directory: ", runtime, "\nsession log: ", session_log(r, "fs"));
    REQUIRE(path_exists(runtime + "/tmp/scratch"));
    REQUIRE(path_exists(runtime + "/caches/cache/upper/tool/planted-one"));
    CHECK_FALSE(path_exists(cache + "/planted-one"));

    Completed finished = r.para({"finish", "first pass", "fs"});
    REQUIRE_MESSAGE(finished.exit_code == 0, finished.err);
    CHECK_FALSE(path_exists(r.worktree("fs")));
    CHECK_FALSE(path_exists(runtime + "/tmp"));
    CHECK_FALSE(path_exists(runtime + "/caches"));
    CHECK(r.repo().git_out({"show", "para/fs:work-one.txt"}) == "one");

    // A finished session resumes with an empty temp directory and cache layer.
    run({"resume", "fs", "-p", "two"});
    CHECK(lines_starting(session_log(r, "fs"), "RUN ") ==
          std::vector<std::string>{"RUN one", "RUN two"});
    CHECK(path_exists(runtime + "/tmp/scratch"));
    CHECK(path_exists(runtime + "/caches/cache/upper/tool/planted-two"));
    CHECK_FALSE(path_exists(runtime + "/caches/cache/upper/tool/planted-one"));
    CHECK(path_exists(r.worktree("fs") + "/work-one.txt"));

    // git.preserve_on_finish keeps the worktree, and with it what the agent had.
    CHECK(r.para({"config", "set", "session.preserve_on_finish", "true"}).exit_code == 0);
    CHECK(r.para({"finish", "second pass", "fs"}).exit_code == 0);
    CHECK(path_exists(r.worktree("fs") + "/work-two.txt"));
    CHECK(path_exists(runtime + "/tmp/scratch"));
  }

  TEST_CASE("sandbox.enforce refuses --no-sandbox, a weaker profile and extra domains" *
            doctest::skip(no_bwrap())) {
    ParaRepo r;
    write_user_config(
        r, r.script("noop.sh", "#!/bin/sh\ntrue\n"),
        "[sandbox]\nenabled = true\nprofile = \"standard-proxied\"\nenforce = true\n");
    const std::string before = r.snapshot();
    struct Row {
      std::vector<std::string> flags;
      const char* names;
    };
    for (const Row& row : {Row{{"--no-sandbox"}, "--no-sandbox"},
                           Row{{"--sandbox-profile", "standard"}, "weaker than 'standard-proxied'"},
                           Row{{"--sandbox", "--sandbox-profile", "permissive"}, "weaker"},
                           Row{{"--allowed-domains", "example.com"}, "--allowed-domains"}}) {
      CAPTURE(row.names);
      std::vector<std::string> args = {"start", "en"};
      args.insert(args.end(), row.flags.begin(), row.flags.end());
      Completed c = r.para(args);
      CHECK(c.exit_code == 1);
      CHECK(c.err.find("sandbox.enforce") != std::string::npos);
      CHECK(c.err.find(row.names) != std::string::npos);
      CHECK(c.err.find(r.repo().home() + "/.config/para/config.toml") != std::string::npos);
    }
    CHECK(r.snapshot() == before);  // nothing was created
    // Without flags the configured sandbox applies, and stays enforced on resume.
    Completed ok = r.para({"start", "en"});
    REQUIRE_MESSAGE(ok.exit_code == 0, ok.err);
    CHECK(session_state(r, "en")["network_mode"] == "proxied");
    Completed weaker = r.para({"resume", "en", "--no-sandbox"});
    CHECK(weaker.exit_code == 1);
    CHECK(weaker.err.find("sandbox.enforce") != std::string::npos);
    CHECK(session_state(r, "en")["network_mode"] == "proxied");
  }

  TEST_CASE(
      "without bubblewrap a sandboxed start fails closed naming the package; fail_open runs "
      "it unsandboxed with a warning" *
      doctest::skip(no_bwrap())) {
    ParaRepo r;
    TempDir bin("para-nobwrap");
    std::filesystem::create_symlink(find_program("git").value(), bin / "git");
    const std::string agent =
        r.script("plain.sh", "#!/bin/sh\necho \"RUN sandbox=[$PARA_SANDBOX]\"\n");
    write_user_config(r, agent);
    const std::string before = r.snapshot();
    Completed refused =
        para_with_env(r, {"start", "nb", "--sandbox", "-p", "go"}, {"PATH=" + bin.path()});
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("bubblewrap") != std::string::npos);
    CHECK(refused.err.find("apt-get install bubblewrap") != std::string::npos);
    CHECK(refused.err.find("fail_open") != std::string::npos);
    CHECK(r.snapshot() == before);
    // The same for para sandbox run and para shell's sandbox.
    Completed run = para_with_env(r, {"sandbox", "run", "--", "/bin/true"}, {"PATH=" + bin.path()});
    CHECK(run.exit_code == 1);
    CHECK(run.err.find("apt-get install bubblewrap") != std::string::npos);

    write_user_config(r, agent, "[sandbox]\nfail_open = true\n");
    Completed opened =
        para_with_env(r, {"start", "nb", "--sandbox", "-p", "go"}, {"PATH=" + bin.path()});
    REQUIRE_MESSAGE(opened.exit_code == 0, opened.err);
    CHECK(opened.err.find("WITHOUT a sandbox") != std::string::npos);
    CHECK(opened.err.find("bubblewrap") != std::string::npos);
    REQUIRE(wait_until([&] { return agent_done(r, "nb"); }));
    CHECK(session_log(r, "nb").find("RUN sandbox=[]") != std::string::npos);
    CHECK(session_state(r, "nb").value("sandbox_enabled", false) == false);
  }
}

}  // namespace para::test
