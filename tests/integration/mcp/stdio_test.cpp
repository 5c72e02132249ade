// para-mcp-server and the conformance fixture over stdio, at the wire level.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "core/fs.h"
#include "tests/integration/mcp/mcp_client.h"
#include "tests/support/support.h"

namespace para::test {

namespace {

std::vector<std::string> fixture() {
  return {built_binary("mcp-fixture"), "--extra-tools"};
}
std::vector<std::string> para_server(const TempDir& repo) {
  return {built_binary("para-mcp-server"), "--stdio", "--repo", repo.path()};
}

// para-mcp-server on a real repository, run through env(1) with the
// repository's own HOME (whose config makes the agent `true`) and `extra`.
std::vector<std::string> para_server(const TempGitRepo& repo,
                                     const std::vector<std::string>& extra = {}) {
  std::filesystem::create_directories(repo.home() + "/.config/para");
  write_text(repo.home() + "/.config/para/config.toml", "[agent]\ncommand = [\"true\"]\n");
  std::vector<std::string> argv = {"env"};
  argv.insert(argv.end(), repo.env().begin(), repo.env().end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {built_binary("para-mcp-server"), "--stdio", "--repo", repo.path()});
  return argv;
}

int error_code(const json& m) {
  return m.value("error", json::object()).value("code", 0);
}

// Every kind of bad input, then a valid request that must still work.
void bad_input_battery(StdioClient& c) {
  c.send_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
  auto before_init = c.read();
  REQUIRE(before_init);
  CHECK(error_code(*before_init) == -32600);
  c.initialize();

  c.send_raw("{this is not json\n");
  auto parse = c.read();
  REQUIRE(parse);
  CHECK(error_code(*parse) == -32700);
  CHECK_FALSE(parse->contains("id"));

  c.send_raw("[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]\n");
  CHECK(error_code(*c.read()) == -32600);
  c.send_raw("\"just a string\"\n");
  CHECK(error_code(*c.read()) == -32600);
  c.send_raw("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n");
  CHECK(error_code(*c.read()) == -32600);
  c.send_raw("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":\"x\"}\n");
  CHECK(error_code(*c.read()) == -32602);
  c.send_raw(std::string(
      "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"params\":{\"bad\":\"\xff\xfe\"}}\n"));
  CHECK(error_code(*c.read()) == -32700);  // invalid UTF-8 is not JSON
  // 100,000 levels of nesting in 200 KB: refused before anything recurses
  // over it (copying such a value overflowed the stack).
  const size_t deep = 100000;
  c.send_raw("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"params\":{\"a\":" +
             std::string(deep, '[') + std::string(deep, ']') + "}}\n");
  auto nested = c.read();
  REQUIRE(nested);
  CHECK(error_code(*nested) == -32700);
  CHECK(nested->dump().find("deeper than 128 levels") != std::string::npos);

  CHECK(error_code(c.request("no/such/method")) == -32601);
  CHECK(error_code(c.request("tools/call", json::object())) == -32602);
  CHECK(error_code(c.request("tools/call", {{"name", 42}})) == -32602);
  CHECK(error_code(c.request("tools/call", {{"name", "no_such_tool"}})) == -32602);
  CHECK(error_code(c.request("resources/read", {{"uri", "nothing://here"}})) == -32002);
  CHECK(error_code(c.request("prompts/get", {{"name", "no_such_prompt"}})) == -32602);
  CHECK(error_code(c.request("logging/setLevel", {{"level", 3}})) == -32602);

  // An oversize message (over the 10 MiB cap) is refused; the stream stays in sync.
  std::string huge = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{\"pad\":\"";
  huge += std::string(size_t(11) << 20, 'x');
  huge += "\"}}\n";
  std::thread writer([&] { c.send_raw(huge); });
  auto oversize = c.read(std::chrono::seconds(30));
  writer.join();
  REQUIRE(oversize);
  CHECK(error_code(*oversize) == -32600);
  CHECK(oversize->dump().find("larger than") != std::string::npos);

  CHECK(c.request("ping")["result"] == json::object());
}

}  // namespace

TEST_SUITE("integration/mcp/stdio") {
  TEST_CASE("para-mcp-server answers bad input with the right errors and keeps serving") {
    TempDir repo;
    StdioClient c(para_server(repo));
    bad_input_battery(c);
    CHECK(c.close_and_wait() == 0);
  }

  TEST_CASE("the fixture answers bad input with the right errors and keeps serving") {
    StdioClient c(fixture());
    bad_input_battery(c);
    CHECK(c.close_and_wait() == 0);
  }

  TEST_CASE(
      "wrong argument types for every field of every tool are isError results (para-mcp-server)") {
    TempDir repo;
    StdioClient c(para_server(repo));
    c.initialize();
    check_wrong_argument_types(
        [&](const std::string& m, const json& p) { return c.request(m, p); });
  }

  TEST_CASE("wrong argument types for every field of every tool are isError results (fixture)") {
    StdioClient c(fixture());
    c.initialize();
    const int calls = check_wrong_argument_types(
        [&](const std::string& m, const json& p) { return c.request(m, p); });
    CHECK(calls >= 30);  // test_all_types alone has 8 fields
  }

  TEST_CASE("para-mcp-server's flags: help, version, and usage errors with exit code 2") {
    const std::string bin = built_binary("para-mcp-server");
    TempDir dir;
    const auto env = isolated_env(dir.path());
    const Completed help = run_cmd({bin, "--help"}, env, dir.path());
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--http [HOST:]PORT") != std::string::npos);
    const Completed version = run_cmd({bin, "--version"}, env, dir.path());
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("para-mcp-server ", 0) == 0);
    for (const std::vector<std::string>& bad : {std::vector<std::string>{bin, "--bogus"},
                                                {bin, "--http"},
                                                {bin, "--http", "host:99999"},
                                                {bin, "--repo", dir / "missing"},
                                                {bin, "--log-level", "loud"}}) {
      CAPTURE(bad.back());
      const Completed r = run_cmd(bad, env, dir.path());
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(r.err.find("para-mcp-server: ") != std::string::npos);
    }
    const Completed busy_port = run_cmd({bin, "--http", "256.1.1.1:0"}, env, dir.path());
    CHECK(busy_port.exit_code == 1);
  }

  TEST_CASE("initialize negotiates the version and carries instructions") {
    TempDir repo;
    StdioClient c(para_server(repo));
    for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
      StdioClient s(para_server(repo));
      const json r = s.request("initialize", initialize_params(version));
      CHECK(r["result"]["protocolVersion"] == version);
      CHECK_FALSE(r["result"]["instructions"].get<std::string>().empty());
      CHECK(r["result"]["serverInfo"]["name"] == "para-mcp-server");
    }
    CHECK(c.request("initialize", initialize_params("2099-01-01"))["result"]["protocolVersion"] ==
          "2025-11-25");
  }

  TEST_CASE("notifications/cancelled stops a running tool while ping is answered") {
    StdioClient c(fixture());
    c.initialize();
    const int id = c.next_id();
    c.send({{"jsonrpc", "2.0"},
            {"id", id},
            {"method", "tools/call"},
            {"params",
             {{"name", "test_slow"},
              {"arguments", {{"steps", 500}, {"step_ms", 20}}},
              {"_meta", {{"progressToken", "p1"}}}}}});
    auto progress = c.read();
    REQUIRE(progress);
    CHECK((*progress)["method"] == "notifications/progress");
    // The reader thread is free: ping comes back while the tool runs.
    std::vector<json> others;
    CHECK(c.request("ping", json::object(), &others)["result"] == json::object());
    c.send({{"jsonrpc", "2.0"},
            {"method", "notifications/cancelled"},
            {"params", {{"requestId", id}, {"reason", "test"}}}});
    // No response for the cancelled request ever comes; later requests work.
    std::vector<json> after;
    CHECK(c.request("tools/call", {{"name", "test_simple_text"}},
                    &after)["result"]["content"][0]["type"] == "text");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    c.send({{"jsonrpc", "2.0"}, {"id", 999}, {"method", "ping"}});
    for (auto m = c.read(); m; m = c.read()) {
      CHECK(m->value("id", json()) != id);
      if (m->value("id", json()) == 999) break;
    }
    for (const json& m : after) CHECK(m.value("id", json()) != id);
  }

  TEST_CASE("stdout carries only JSON-RPC even when the server and a child print") {
    StdioClient c(fixture());
    c.initialize();
    const json r = c.request("tools/call", {{"name", "test_stdout_noise"}});
    CHECK(r["result"]["content"][0]["text"] == "made noise");
    CHECK(c.request("ping")["result"] == json::object());  // read() CHECKs every line is JSON
  }

  TEST_CASE("a prompt full of shell metacharacters reaches the tool verbatim and runs nothing") {
    TempDir dir;
    const std::string marker = dir / "pwned";
    const std::string text = "$(touch " + marker + ") `touch " + marker + "`; touch " + marker +
                             " && echo | cat > " + marker + " 'q' \"d\" \\ * ? ~ # !";
    StdioClient c(fixture());
    c.initialize();
    const json r =
        c.request("tools/call", {{"name", "test_echo"}, {"arguments", {{"text", text}}}});
    CHECK(r["result"]["content"][0]["text"] == text);
    CHECK_FALSE(path_exists(marker));
  }

  TEST_CASE(
      "para_start and para_resume take task files and setup scripts only from the repository") {
    namespace fs = std::filesystem;
    TempGitRepo repo;
    TempDir outside;
    write_text(outside / "secret.txt", "TOP-SECRET-LINE\n");
    write_text(outside / "setup.sh", "#!/bin/sh\ntouch " + (outside / "ran") + "\n");
    fs::create_symlink(outside / "secret.txt", repo / "link.md");
    repo.write("task.md", "the task from the repository\n");
    StdioClient c(para_server(repo));
    c.initialize();
    auto call = [&](const std::string& tool, const json& args) {
      return c.request("tools/call", {{"name", tool}, {"arguments", args}})["result"];
    };
    const std::string up = fs::relative(outside / "secret.txt", repo.path()).string();
    REQUIRE(up.rfind("../", 0) == 0);
    for (const json& args :
         {json{{"name", "a1"}, {"file", outside / "secret.txt"}},
          json{{"name", "a2"}, {"file", up}}, json{{"name", "a3"}, {"file", "link.md"}},
          json{{"name", "a4"}, {"setup_script", outside / "setup.sh"}},
          json{{"name", "a5"}, {"prompt", "x"}, {"setup_script", up}}}) {
      CAPTURE(args.dump());
      const json r = call("para_start", args);
      CHECK(r["isError"] == true);
      const std::string text = r["content"][0]["text"];
      CHECK(text.find("is outside the repository") != std::string::npos);
      CHECK(text.find("TOP-SECRET") == std::string::npos);
    }
    const json missing = call("para_start", {{"name", "a6"}, {"file", "no-such.md"}});
    CHECK(missing["content"][0]["text"].get<std::string>().find(
              "does not exist in the repository") != std::string::npos);
    CHECK_FALSE(path_exists(outside / "ran"));
    CHECK(call("para_list", json::object())["structuredContent"]["sessions"].empty());

    // Inside the repository, the same arguments work.
    const json ok = call("para_start", {{"name", "ok"}, {"file", "task.md"}});
    CHECK_MESSAGE(!ok.value("isError", false), ok.dump());
    CHECK(read_text(repo.path() + "/.para/state/ok.task") == "the task from the repository\n");
    const json resume = call("para_resume", {{"session", "ok"}, {"file", up}});
    CHECK(resume["isError"] == true);
    CHECK(resume["content"][0]["text"].get<std::string>().find("is outside the repository") !=
          std::string::npos);

    // Sessions are resources (para://sessions/{name}): cancelling one changes
    // the list, and clients hear of it.
    std::vector<json> seen;
    const json cancelled = c.request(
        "tools/call",
        {{"name", "para_cancel"}, {"arguments", {{"session_name", "ok"}, {"force", true}}}}, &seen);
    CHECK_MESSAGE(!cancelled["result"].value("isError", false), cancelled.dump());
    CHECK(std::any_of(seen.begin(), seen.end(), [](const json& m) {
      return m.value("method", "") == "notifications/resources/list_changed";
    }));
  }

  TEST_CASE("para_start's docker_args cannot copy the server's environment into a container") {
    TempGitRepo repo;
    StdioClient c(para_server(repo, {"SERVER_SECRET=s3cr3t-value"}));
    c.initialize();
    for (const json& docker_args : {json{"-e", "SERVER_SECRET"}, json{"--env=SERVER_SECRET"}}) {
      const json r = c.request("tools/call", {{"name", "para_start"},
                                              {"arguments",
                                               {{"name", "env1"},
                                                {"container", true},
                                                {"docker_args", docker_args},
                                                {"prompt", "env"}}}})["result"];
      CHECK(r["isError"] == true);
      const std::string text = r["content"][0]["text"];
      CHECK(text.find("-e SERVER_SECRET would copy a variable from the server's environment") !=
            std::string::npos);
      CHECK(text.find("s3cr3t-value") == std::string::npos);
    }
    const json list =
        c.request("tools/call", {{"name", "para_list"}, {"arguments", json::object()}});
    CHECK(list["result"]["structuredContent"]["sessions"].empty());
  }

  TEST_CASE("a session that negotiated 2025-03-26 takes JSON-RPC batches; later ones do not") {
    StdioClient c(fixture());
    c.send({{"jsonrpc", "2.0"},
            {"id", 1},
            {"method", "initialize"},
            {"params", initialize_params("2025-03-26")}});
    REQUIRE(c.read().value()["result"]["protocolVersion"] == "2025-03-26");
    c.send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    c.send(json::array({{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}},
                        {{"jsonrpc", "2.0"}, {"method", "notifications/roots/list_changed"}},
                        {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "no/such/method"}},
                        {{"jsonrpc", "2.0"}, {"id", 4}, {"method", "initialize"}}}));
    const json answers = c.read().value();
    REQUIRE(answers.is_array());
    REQUIRE(answers.size() == 3);  // the notification gets none
    std::map<int, json> by_id;
    for (const json& a : answers) by_id[a["id"].get<int>()] = a;
    CHECK(by_id[2]["result"] == json::object());
    CHECK(error_code(by_id[3]) == -32601);
    CHECK(error_code(by_id[4]) == -32600);
    c.send(json::array());
    CHECK(error_code(c.read().value()) == -32600);
    c.send(json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/roots/list_changed"}}}));
    CHECK(c.request("ping")["result"] == json::object());  // no answer came to the batch

    StdioClient later(fixture());
    later.initialize();  // 2025-11-25
    later.send(json::array({{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}}}));
    const json refused = later.read().value();
    CHECK(error_code(refused) == -32600);
    CHECK(refused.dump().find("not part of MCP 2025-11-25") != std::string::npos);
  }

  TEST_CASE("a para_start cancelled by the client leaves no session behind") {
    TempGitRepo repo;
    StdioClient c(para_server(repo));
    c.initialize();
    // The request and its cancellation in one write: the start is under way
    // (or still queued) when the cancellation arrives.
    c.send_raw(
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"para_start\",\"arguments\":{\"name\":\"cancelme\",\"prompt\":\"x\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
        "\"requestId\":7}}\n");
    // No response to id 7 ever comes, and nothing of the session remains:
    // it never ran (cancelled in the queue) or was rolled back, also a while
    // later (a start takes well under that, even under sanitizers).
    auto nothing_left = [&] {
      const json list =
          c.request("tools/call", {{"name", "para_list"}, {"arguments", json::object()}});
      return list["result"]["structuredContent"]["sessions"].empty() &&
             repo.git({"rev-parse", "--verify", "-q", "refs/heads/para/cancelme"}).exit_code != 0 &&
             !std::filesystem::exists(repo.path() + "/.para/worktrees/cancelme");
    };
    CHECK(wait_until(nothing_left, std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::seconds(3));
    CHECK(nothing_left());
  }

  TEST_CASE("SIGTERM ends the session as end of input does: a para_start under way rolls back") {
    TempGitRepo repo;
    write_text(repo.path() + "/slow.sh", "#!/bin/sh\nsleep 3\n");
    ::chmod((repo.path() + "/slow.sh").c_str(), 0755);
    StdioClient c(para_server(repo));
    c.initialize();
    c.send({{"jsonrpc", "2.0"},
            {"id", 7},
            {"method", "tools/call"},
            {"params",
             {{"name", "para_start"},
              {"arguments", {{"name", "sig"}, {"prompt", "x"}, {"setup_script", "slow.sh"}}}}}});
    REQUIRE(
        wait_until([&] { return std::filesystem::exists(repo.path() + "/.para/worktrees/sig"); },
                   std::chrono::seconds(20)));
    CHECK(c.terminate_and_wait(std::chrono::seconds(15)) == 0);
    CHECK(repo.git({"rev-parse", "--verify", "-q", "refs/heads/para/sig"}).exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(repo.path() + "/.para/worktrees/sig"));
    CHECK_FALSE(std::filesystem::exists(repo.path() + "/.para/state/sig.state"));
  }

  TEST_CASE("end of input is a clean exit, also with a request in flight") {
    StdioClient idle(fixture());
    idle.initialize();
    CHECK(idle.close_and_wait(std::chrono::seconds(5)) == 0);

    StdioClient busy(fixture());
    busy.initialize();
    busy.send(
        {{"jsonrpc", "2.0"},
         {"id", 1},
         {"method", "tools/call"},
         {"params", {{"name", "test_slow"}, {"arguments", {{"steps", 100000}, {"step_ms", 50}}}}}});
    const auto start = std::chrono::steady_clock::now();
    CHECK(busy.close_and_wait(std::chrono::seconds(15)) == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  }
}

}  // namespace para::test
