// standard-proxied through the real relay and proxy: `para sandbox run
// --profile standard-proxied` (bwrap with an empty network namespace,
// para-relay inside, the proxy on a thread of para) against real loopback
// servers on the host. Test names reach them only through the proxy's pins
// (--resolve NAME:127.0.0.1). Cost: about 25 sandboxed runs with a proxy
// each, ~0.1-0.3 s apiece, plus one openssl certificate.

#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/process.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/sandbox/fixture.h"

namespace para::test {
namespace {

bool no_bwrap() {
  return !bwrap_works();
}

// `para sandbox run --profile standard-proxied` in the main worktree with
// the test names pinned to loopback, `allowed` on the allowlist and the
// decisions in `log`.
Completed proxied_run(const SandboxHost& h, const std::string& allowed, const std::string& log,
                      const std::vector<std::string>& command) {
  std::vector<std::string> argv = {built_binary("para"),
                                   "sandbox",
                                   "run",
                                   "--profile",
                                   "standard-proxied",
                                   "--resolve",
                                   "allowed.test:127.0.0.1",
                                   "--resolve",
                                   "denied.test:127.0.0.1",
                                   "--allowed-domains",
                                   allowed,
                                   "--log",
                                   log,
                                   "--"};
  argv.insert(argv.end(), command.begin(), command.end());
  return run_cmd(argv, h.env, h.repo);
}

// The probe run on the host, outside any sandbox: proves a target is live.
bool host_probe_allowed(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {probe_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, {"PATH=/usr/bin:/bin"}, "/").exit_code == 0;
}

std::vector<nlohmann::json> decisions(const std::string& log) {
  std::vector<nlohmann::json> out;
  for (const std::string& line : log_lines(log)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_SUITE("sandbox/proxied") {
  TEST_CASE("standard-proxied: direct TCP, UDP, ICMP, IPv6 and DNS to the host's loopback fail" *
            doctest::skip(no_bwrap())) {
    SandboxHost h;
    TempDir logs("para-proxied-log");
    const LoopbackTargets servers;
    const LoopbackServer& tcp4 = servers.tcp4;
    const std::vector<LoopbackTargets::Target> targets = servers.all();
    for (const auto& t : targets) REQUIRE_MESSAGE(host_probe_allowed(t.probe), t.what);
    const int hits_before = servers.hits();
    const int tcp4_before = tcp4.hits();
    const std::string allowed = "allowed.test:" + std::to_string(tcp4.port()) + "/plain";
    for (const auto& t : targets) {
      CAPTURE(t.what);
      std::vector<std::string> argv = {probe_path()};
      argv.insert(argv.end(), t.probe.begin(), t.probe.end());
      Completed c = proxied_run(h, allowed, logs / "log", argv);
      CAPTURE(c.out + c.err);
      CHECK(c.exit_code == 1);
      CHECK(c.out.find("BLOCKED") != std::string::npos);
    }
    CHECK(servers.hits() == hits_before);
    Completed icmp = proxied_run(h, allowed, logs / "log", {probe_path(), "icmp", "127.0.0.1"});
    CHECK(icmp.exit_code == 1);
    // No route but the sandbox's own loopback, where only the relay listens.
    Completed routes = proxied_run(h, allowed, logs / "log", {"cat", "/proc/net/route"});
    REQUIRE(routes.exit_code == 0);
    CHECK(routes.out.find("\n") == routes.out.rfind("\n"));  // the header line only
    Completed links = proxied_run(h, allowed, logs / "log", {"cat", "/proc/net/dev"});
    CHECK(links.out.find("lo:") != std::string::npos);
    CHECK(links.out.find("eth") == std::string::npos);
    // Names do not resolve inside: there is no DNS, only the proxy resolves.
    Completed noproxy = proxied_run(h, allowed, logs / "log",
                                    {"curl", "-sS", "--max-time", "5", "--noproxy", "*",
                                     "http://allowed.test:" + std::to_string(tcp4.port()) + "/"});
    CHECK(noproxy.exit_code == 6);  // CURLE_COULDNT_RESOLVE_HOST
    CHECK(servers.hits() == hits_before);

    // The legitimate counterpart: the proxy port is reachable, and the proxy
    // tunnels to the allowed test name (the same TCP server, now hit once).
    Completed tunnel = proxied_run(
        h, allowed, logs / "log",
        {probe_path(), "proxy-connect", "8877", "allowed.test:" + std::to_string(tcp4.port())});
    CAPTURE(tunnel.out + tunnel.err);
    CHECK(tunnel.exit_code == 0);
    CHECK(tunnel.out.find("STATUS 200") != std::string::npos);
    CHECK(wait_until([&] { return tcp4.hits() == tcp4_before + 1; }));
    // The standard profile shares the host network: the same probes pass.
    Completed open = run_cmd({built_binary("para"), "sandbox", "run", "--profile", "standard", "--",
                              probe_path(), "tcp", "127.0.0.1", std::to_string(tcp4.port())},
                             h.env, h.repo);
    CHECK(open.exit_code == 0);
  }

  TEST_CASE(
      "curl through the proxy fetches an allowed test name over HTTP and HTTPS; a denied "
      "name gets 403; every decision is logged" *
      doctest::skip(no_bwrap())) {
    SandboxHost h;
    TempDir logs("para-proxied-log");
    Certs certs;
    HttpsServer https(certs);
    HttpServer http;
    // Inside, /tmp is private: the client trusts the test CA from the home directory.
    std::filesystem::copy_file(certs.cert(), h.home + "/test-ca.pem");
    const std::string hs = std::to_string(https.port()), hp = std::to_string(http.port());
    const std::string allowed = "allowed.test:" + hs + ",allowed.test:" + hp;
    const std::string log = logs / "decisions.jsonl";
    const std::vector<std::string> curl = {"curl", "-sS",      "--max-time",
                                           "10",   "--cacert", h.home + "/test-ca.pem"};
    auto with = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = curl;
      argv.insert(argv.end(), args.begin(), args.end());
      return argv;
    };

    Completed get_https =
        proxied_run(h, allowed, log, with({"https://allowed.test:" + hs + "/hello"}));
    CAPTURE(get_https.err);
    CHECK(get_https.exit_code == 0);
    CHECK(get_https.out == "hello");
    Completed get_http =
        proxied_run(h, allowed, log, with({"http://allowed.test:" + hp + "/page"}));
    CHECK(get_http.exit_code == 0);
    CHECK(trim(get_http.out) == "seen /page");

    Completed denied_http = proxied_run(
        h, allowed, log,
        with({"-o", "/dev/null", "-w", "%{http_code}", "http://denied.test:" + hp + "/leak"}));
    CHECK(denied_http.out == "403");
    Completed denied_https =
        proxied_run(h, allowed, log, with({"https://denied.test:" + hs + "/hello"}));
    CHECK(denied_https.exit_code == 56);  // CURLE_RECV_ERROR: the CONNECT got 403
    CHECK(denied_https.err.find("403") != std::string::npos);
    // Going around the proxy reaches nothing: the server's loopback is not ours.
    Completed direct = proxied_run(h, allowed, log,
                                   with({"--noproxy", "*", "http://127.0.0.1:" + hp + "/direct"}));
    CHECK(direct.exit_code == 7);  // CURLE_COULDNT_CONNECT
    const std::vector<std::string> seen = http.requests();
    CHECK(seen.size() == 1);
    CHECK(seen.at(0) == "GET /page");

    const std::vector<nlohmann::json> d = decisions(log);
    int allows = 0, denies = 0;
    for (const nlohmann::json& e : d) {
      CAPTURE(e.dump());
      CHECK(e["session"] == "sandbox-run");
      if (e["decision"] == "allow") {
        ++allows;
        CHECK(e["host"] == "allowed.test");
        CHECK(e["address"] == "127.0.0.1");
        CHECK(e["bytes_down"].get<int>() > 0);
      } else {
        ++denies;
        CHECK(e["decision"] == "deny");
        CHECK(e["host"] == "denied.test");
        CHECK(e["status"] == 403);
        CHECK(e["reason"].get<std::string>().find("not on the allow list") != std::string::npos);
      }
    }
    CHECK(allows == 2);
    CHECK(denies == 2);
  }

  TEST_CASE(
      "a JVM inside uses the proxy from JAVA_TOOL_OPTIONS; gRPC and gcloud variables are set" *
      doctest::skip(no_bwrap())) {
    if (run_cmd({"sh", "-c", "command -v java"}, current_environment(), "/").exit_code != 0) {
      // .ci/setup installs a JDK; a developer machine may have none.
      MESSAGE("SKIPPED: no java on this machine");
      return;
    }
    SandboxHost h;
    TempDir logs("para-proxied-log");
    Certs certs;
    HttpsServer https(certs);
    HttpServer http;
    const std::string hs = std::to_string(https.port()), hp = std::to_string(http.port());
    const std::string log = logs / "decisions.jsonl";
    // HttpURLConnection reads no *_PROXY variable: only the properties.
    const std::string source = h.home + "/Fetch.java";
    write_text(source,
               "import java.net.*;\n"
               "public class Fetch {\n"
               "  public static void main(String[] args) throws Exception {\n"
               "    for (String url : args) {\n"
               "      try {\n"
               "        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();\n"
               "        c.setConnectTimeout(5000);\n"
               "        c.setReadTimeout(5000);\n"
               "        int code = c.getResponseCode();\n"
               "        var in = code < 400 ? c.getInputStream() : c.getErrorStream();\n"
               "        String body = in == null ? \"\" : new String(in.readAllBytes());\n"
               "        System.out.println(\"FETCH \" + code + \" \" + body.trim());\n"
               "      } catch (Exception e) {\n"
               "        System.out.println(\"FETCH error \" + e.getMessage());\n"
               "      }\n"
               "    }\n"
               "  }\n"
               "}\n");
    Completed java =
        proxied_run(h, "allowed.test:" + hp + ",allowed.test:" + hs, log,
                    {"java", source, "http://allowed.test:" + hp + "/jvm",
                     "http://denied.test:" + hp + "/leak", "https://denied.test:" + hs + "/x"});
    CAPTURE(java.out);
    CAPTURE(java.err);
    REQUIRE(java.exit_code == 0);
    const std::vector<std::string> fetched = lines_starting(java.out, "FETCH ");
    REQUIRE(fetched.size() == 3);
    CHECK(fetched[0] == "FETCH 200 seen /jvm");
    CHECK(fetched[1].starts_with("FETCH 403 "));
    CHECK(fetched[2].find("403") != std::string::npos);  // the CONNECT was refused
    CHECK(http.requests() == std::vector<std::string>{"GET /jvm"});
    int allowed = 0, denied = 0;
    for (const nlohmann::json& e : decisions(log)) (e["decision"] == "allow" ? allowed : denied)++;
    CHECK(allowed == 1);
    CHECK(denied == 2);

    Completed env = proxied_run(h, "allowed.test:" + hp, log, {"env"});
    const std::string url = "http://127.0.0.1:8877";
    for (const std::string& line :
         {"GRPC_PROXY=" + url, "grpc_proxy=" + url, std::string("CLOUDSDK_PROXY_TYPE=http"),
          std::string("CLOUDSDK_PROXY_ADDRESS=127.0.0.1"),
          std::string("CLOUDSDK_PROXY_PORT=8877")}) {
      CHECK(env.out.find("\n" + line + "\n") != std::string::npos);
    }
  }
}

}  // namespace para::test