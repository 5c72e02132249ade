// para-mcp-server and the conformance fixture over Streamable HTTP, with raw
// HTTP requests on loopback.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "tests/integration/mcp/mcp_client.h"
#include "tests/support/support.h"

namespace para::test {

namespace {

using namespace std::chrono_literals;

std::vector<std::string> fixture(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {built_binary("mcp-fixture"), "--extra-tools"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

json rpc(int id, const std::string& method, json params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

// Sends `head` (and nothing after it) on a new loopback connection; returns
// what the server answers before it closes, or "" after `timeout`.
std::string raw_exchange(uint16_t port, const std::string& head,
                         std::chrono::seconds timeout = 10s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

int error_code(const HttpResult& r) {
  return r.messages.empty() ? 0 : r.messages[0].value("error", json::object()).value("code", 0);
}

}  // namespace

TEST_SUITE("integration/mcp/http") {
  TEST_CASE("a session starts with initialize and is named by a random visible-ASCII id") {
    ServerProcess server(fixture());
    HttpClient a(server.port()), b(server.port());
    a.initialize();
    b.initialize();
    CHECK(a.session_id.size() == 32);
    for (char ch : a.session_id) CHECK((ch >= 0x21 && ch <= 0x7e));
    CHECK(a.session_id != b.session_id);
    const HttpResult list = a.post(rpc(1, "tools/list"));
    CHECK(list.status == 200);
    CHECK(list.content_type.rfind("application/json", 0) == 0);
    CHECK(list.messages.at(0)["result"]["tools"].size() > 10);
  }

  TEST_CASE("missing, unknown and deleted sessions get 400 and 404") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    CHECK(c.post(rpc(1, "tools/list")).status == 400);  // no session header
    c.session_id = "0123456789abcdef0123456789abcdef";
    CHECK(c.post(rpc(2, "tools/list")).status == 404);
    c.initialize();
    CHECK(c.del().status == 200);
    CHECK(c.post(rpc(3, "tools/list")).status == 404);
    CHECK(c.get({}, 1s).status == 404);
    CHECK(c.del().status == 404);
    c.session_id.clear();
    CHECK(c.del().status == 400);
  }

  TEST_CASE("initialize again on a live session is refused") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    const HttpResult again = c.post(rpc(1, "initialize", initialize_params()));
    CHECK(again.status == 400);
    CHECK(error_code(again) == -32600);
  }

  TEST_CASE("the MCP-Protocol-Version header takes any supported version and refuses others") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
      CAPTURE(v);
      CHECK(c.post(rpc(1, "ping"), {{"MCP-Protocol-Version", v}}).status == 200);
    }
    const HttpResult bad = c.post(rpc(2, "ping"), {{"MCP-Protocol-Version", "1900-01-01"}});
    CHECK(bad.status == 400);
    CHECK(bad.body.find("Unsupported protocol version") != std::string::npos);
    CHECK(c.post(rpc(3, "ping"), {{"MCP-Protocol-Version", ""}}).status ==
          200);  // absent: 2025-03-26
  }

  TEST_CASE("Host and Origin are both validated against DNS rebinding") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    const json init = rpc(1, "initialize", initialize_params());
    CHECK(c.post(init, {{"Host", "evil.example.com"}}).status == 403);
    CHECK(c.post(init, {{"Origin", "http://evil.example.com"}}).status == 403);
    CHECK(c.post(init, {{"Host", "evil.example.com:80"}, {"Origin", "http://evil.example.com"}})
              .status == 403);
    CHECK(c.post(init, {{"Origin", "null"}}).status == 403);
    CHECK(c.post(init, {{"Host", "localhost:" + std::to_string(server.port())},
                        {"Origin", "http://localhost:5173"}})
              .status == 200);
    CHECK(c.post(init, {{"Host", "[::1]:1"}}).status == 200);
  }

  TEST_CASE("wrong methods, media types and bodies get 405, 406, 415, 400 and 413") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    httplib::Client raw("127.0.0.1", server.port());
    auto put = raw.Put("/mcp", "{}", "application/json");
    REQUIRE(put);
    CHECK(put->status == 405);
    CHECK(put->get_header_value("Allow") == "GET, POST, DELETE");
    CHECK(c.post(rpc(1, "ping"), {{"Accept", "application/json"}}).status == 406);
    CHECK(c.post(rpc(1, "ping"), {{"Accept", "text/event-stream"}}).status == 406);
    CHECK(c.post(rpc(1, "ping"), {{"Content-Type", "text/plain"}}).status == 415);
    CHECK(c.get({{"Accept", "application/json"}}, 1s).status == 406);
    const HttpResult parse = c.post(std::string("{nope"));
    CHECK(parse.status == 400);
    CHECK(error_code(parse) == -32700);
    const size_t deep = 100000;  // refused before anything recurses over it
    const HttpResult nested = c.post(
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":" + std::string(deep, '[') +
        std::string(deep, ']') + "}");
    CHECK(nested.status == 400);
    CHECK(error_code(nested) == -32700);
    const HttpResult batch = c.post(json::array({rpc(2, "ping")}));
    CHECK(batch.status == 400);
    CHECK(error_code(batch) == -32600);
    const HttpResult huge = c.post(std::string(size_t(5) << 20, ' '));
    CHECK(huge.status == 413);
    // A chunked body has no length to check first: it is refused before
    // any of it is read (the body here never ends), whatever its Host.
    const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
    const std::string chunked = raw_exchange(
        server.port(), "POST /mcp HTTP/1.1\r\n" + host +
                           "Content-Type: application/json\r\nAccept: application/json, "
                           "text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n{");
    CHECK(chunked.starts_with("HTTP/1.1 411 "));
    CHECK(raw_exchange(server.port(), "POST /mcp HTTP/1.1\r\n" + host +
                                          "Host: evil.example.com\r\nContent-Length: 2\r\n\r\n{}")
              .starts_with("HTTP/1.1 400 "));
    // The session keeps serving.
    CHECK(c.request("ping")["result"] == json::object());
  }

  TEST_CASE("notifications and responses get 202; unknown methods and tools get JSON-RPC errors") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    CHECK(c.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/roots/list_changed"}}).status ==
          202);
    CHECK(c.post(json{{"jsonrpc", "2.0"}, {"id", 77}, {"result", json::object()}}).status == 202);
    CHECK(c.request("no/such")["error"]["code"] == -32601);
    CHECK(c.request("tools/call", {{"name", "nope"}})["error"]["code"] == -32602);
  }

  TEST_CASE(
      "a tool's progress and logs stream as SSE on the POST response, after a priming event") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    c.request("logging/setLevel", {{"level", "debug"}});
    const HttpResult r =
        c.post(rpc(5, "tools/call",
                   {{"name", "test_tool_with_progress"}, {"_meta", {{"progressToken", "tok"}}}}));
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/event-stream");
    CHECK(r.has_retry);
    REQUIRE(r.event_ids.size() == 5);
    CHECK(r.event_ids[0] != r.event_ids[1]);  // priming event, then one id per message
    REQUIRE(r.messages.size() == 4);
    for (int i = 0; i < 3; ++i) {
      CHECK(r.messages[i]["method"] == "notifications/progress");
      CHECK(r.messages[i]["params"]["progressToken"] == "tok");
    }
    CHECK(r.messages[3]["id"] == 5);
    const HttpResult logs = c.post(rpc(6, "tools/call", {{"name", "test_tool_with_logging"}}));
    REQUIRE(logs.messages.size() == 4);
    CHECK(logs.messages[0]["method"] == "notifications/message");
  }

  TEST_CASE("a request cancelled over HTTP ends its stream without a response") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    HttpResult slow;
    std::thread caller([&] {
      HttpClient same = c;
      slow = same.post(
          rpc(9, "tools/call",
              {{"name", "test_slow"}, {"arguments", {{"steps", 1000}, {"step_ms", 20}}}}));
    });
    std::this_thread::sleep_for(300ms);
    CHECK(c.request("ping")["result"] == json::object());  // served meanwhile
    const HttpResult cancel = c.post(json{
        {"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 9}}}});
    CHECK(cancel.status == 202);
    caller.join();
    CHECK(slow.status == 200);
    for (const json& m : slow.messages) CHECK_FALSE(m.contains("result"));
    CHECK(c.request("ping")["result"] == json::object());
  }

  TEST_CASE("over HTTP, a 2025-03-26 session's batch is answered with one array") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.protocol_version = "2025-03-26";
    c.initialize();
    const HttpResult r = c.post(json::array({{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "ping"}},
                                             {{"jsonrpc", "2.0"}, {"id", 8}, {"method", "ping"}}}));
    CHECK(r.status == 200);
    const json answers = json::parse(r.body);
    REQUIRE(answers.is_array());
    CHECK(answers.size() == 2);
    const HttpResult only_notes =
        c.post(json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/roots/list_changed"}}}));
    CHECK(only_notes.status == 202);
  }

  TEST_CASE("open GET streams are capped so that POSTs always find a connection") {
    ServerProcess server(fixture());
    constexpr size_t kCap = 40;  // HttpOptions::max_get_streams
    std::vector<HttpClient> clients;
    for (size_t i = 0; i <= kCap; ++i) {
      clients.emplace_back(server.port());
      clients.back().initialize();
    }
    // Each held open until stop() below (the server sends nothing more than
    // its priming event for 15 s): the priming event counts it.
    std::atomic<size_t> listening{0};
    std::vector<std::unique_ptr<httplib::Client>> held;
    std::vector<std::thread> readers;
    for (size_t i = 0; i < kCap; ++i) {
      held.push_back(std::make_unique<httplib::Client>("127.0.0.1", server.port()));
      held.back()->set_read_timeout(60, 0);
      readers.emplace_back([&, i] {
        bool counted = false;
        held[i]->Get("/mcp",
                     {{"Accept", "text/event-stream"},
                      {"Mcp-Session-Id", clients[i].session_id},
                      {"MCP-Protocol-Version", clients[i].protocol_version}},
                     [&](const char*, size_t) {
                       if (!counted) ++listening;
                       counted = true;
                       return true;
                     });
      });
    }
    const bool all = wait_until([&] { return listening.load() == kCap; }, 30s);
    CHECK(all);
    const HttpResult refused = clients[kCap].get({}, 2s);
    CHECK(refused.status == 503);
    CHECK(refused.body.find("too many SSE streams") != std::string::npos);
    CHECK(clients[kCap].request("ping")["result"] == json::object());  // POSTs still served
    for (auto& h : held) h->stop();
    for (std::thread& t : readers) t.join();
    // The streams ended: a GET is served again (once the server saw them go).
    CHECK(wait_until(
        [&] {
          return clients[kCap].get({}, 1s, [](const HttpResult&) { return true; }).status == 200;
        },
        20s));
  }

  TEST_CASE("the standalone GET stream carries resource updates; a second GET gets 409") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    c.request("resources/subscribe", {{"uri", "test://watched-resource"}});
    std::atomic<bool> listening{false};
    HttpResult stream;
    std::thread reader([&] {
      HttpClient same = c;
      stream = same.get({}, 10s, [&](const HttpResult& r) {
        listening = true;
        for (const json& m : r.messages) {
          if (m.value("method", "") == "notifications/resources/updated") return true;
        }
        return false;
      });
    });
    REQUIRE(wait_until([&] { return listening.load(); }));  // the priming event arrived
    CHECK(c.get({}, 500ms).status == 409);
    c.request("tools/call", {{"name", "test_touch_resource"},
                             {"arguments", {{"uri", "test://watched-resource"}}}});
    reader.join();
    CHECK(stream.status == 200);
    REQUIRE_FALSE(stream.messages.empty());
    CHECK(stream.messages.back()["params"]["uri"] == "test://watched-resource");
  }

  TEST_CASE("a bearer token is required when configured, and never echoed") {
    ServerProcess server(fixture({"--auth-token", "t0ps3cret"}));
    HttpClient c(server.port());
    const json init = rpc(1, "initialize", initialize_params());
    const HttpResult none = c.post(init);
    CHECK(none.status == 401);
    CHECK(none.headers.count("WWW-Authenticate") == 1);
    const HttpResult wrong = c.post(init, {{"Authorization", "Bearer t0ps3cre"}});
    CHECK(wrong.status == 401);
    CHECK(wrong.body.find("t0ps3cre") == std::string::npos);
    CHECK(c.post(init, {{"Authorization", "Bearer t0ps3cret"}}).status == 200);
    CHECK(server.log().find("t0ps3cret") == std::string::npos);
  }

  TEST_CASE("para-mcp-server takes its token from PARA_MCP_AUTH_TOKEN and never logs it") {
    TempDir repo;
    ServerProcess server(
        {built_binary("para-mcp-server"), "--repo", repo.path(), "--log-level", "debug"},
        {"PARA_MCP_AUTH_TOKEN=env-s3cret-token"});
    HttpClient c(server.port());
    const json init = rpc(1, "initialize", initialize_params());
    CHECK(c.post(init).status == 401);
    CHECK(c.post(init, {{"Authorization", "Bearer env-s3cret-token"}}).status == 200);
    CHECK(server.log().find("env-s3cret-token") == std::string::npos);
  }

  TEST_CASE(
      "an agent in a para sandbox, which shares the host network, gets 403; the host's own "
      "client is served" *
      doctest::skip(!bwrap_works())) {
    TempGitRepo repo;
    ServerProcess server({built_binary("para-mcp-server"), "--repo", repo.path()});
    const std::string init = rpc(1, "initialize", initialize_params()).dump();
    const auto curl_to = [&](int port) {
      const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
      const std::string accept = "Accept: application/json, text/event-stream";
      const std::string json_type = "Content-Type: application/json";
      return std::vector<std::string>{"curl", "-sS", "-w",      "\n%{http_code}", "-H",
                                      accept, "-H",  json_type, "--data-binary",  init,
                                      url};
    };
    const auto sandboxed = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), {built_binary("para"), "sandbox", "run", "--"});
      return run_cmd(argv, repo.env(), repo.path());
    };
    const auto status_of = [](const Completed& c) { return c.out.substr(c.out.rfind('\n') + 1); };

    const Completed host = run_cmd(curl_to(server.port()), repo.env(), repo.path());
    CHECK(status_of(host) == "200");
    CHECK(host.out.find("\"serverInfo\"") != std::string::npos);

    const Completed agent = sandboxed(curl_to(server.port()));
    CHECK_MESSAGE(agent.exit_code == 0, agent.err);  // curl got an answer
    CHECK(status_of(agent) == "403");
    CHECK(agent.out.find("runs in another user namespace (a sandbox or a container)") !=
          std::string::npos);
    CHECK(agent.out.find("serverInfo") == std::string::npos);
    CHECK(server.log().find("refused an HTTP request") != std::string::npos);

    // What the check prevents: with it switched off the same agent is served
    // (and the server warns at start-up that this is so).
    ServerProcess unchecked(
        {built_binary("para-mcp-server"), "--repo", repo.path(), "--no-peer-check"});
    CHECK(status_of(sandboxed(curl_to(unchecked.port()))) == "200");
    CHECK(unchecked.log().find("--no-peer-check: any local process can call") != std::string::npos);
  }

  TEST_CASE("idle sessions expire and then get 404") {
    ServerProcess server(fixture({"--idle-timeout", "1"}));
    HttpClient c(server.port());
    c.initialize();
    CHECK(c.request("ping")["result"] == json::object());
    // Any request counts as activity, so wait without touching the session.
    std::this_thread::sleep_for(2500ms);
    CHECK(c.post(rpc(1, "ping")).status == 404);
  }

  TEST_CASE("the number of sessions is capped: idle ones are evicted, busy ones refuse newcomers") {
    ServerProcess server(fixture({"--max-sessions", "2"}));
    HttpClient first(server.port()), second(server.port()), third(server.port());
    first.initialize();
    second.initialize();
    third.initialize();  // evicts the least recently used idle session: first
    CHECK(first.post(rpc(1, "ping")).status == 404);
    CHECK(second.post(rpc(2, "ping")).status == 200);
    // With both remaining sessions busy (a GET stream each), a newcomer gets 503.
    std::atomic<int> open{0};
    auto hold = [&](HttpClient& who) {
      HttpClient same = who;
      same.get({}, 3s, [&](const HttpResult&) {
        ++open;
        return false;
      });
    };
    std::thread h2([&] { hold(second); }), h3([&] { hold(third); });
    REQUIRE(wait_until([&] { return open.load() >= 2; }));
    HttpClient fourth(server.port());
    const HttpResult refused = fourth.post(rpc(3, "initialize", initialize_params()));
    CHECK(refused.status == 503);
    h2.join();
    h3.join();
  }

  TEST_CASE("wrong argument types for every field of every tool are isError results over HTTP") {
    ServerProcess server(fixture());
    HttpClient c(server.port());
    c.initialize();
    CHECK(check_wrong_argument_types(
              [&](const std::string& m, const json& p) { return c.request(m, p); }) >= 30);

    TempDir repo;
    ServerProcess para({built_binary("para-mcp-server"), "--repo", repo.path()});
    HttpClient p(para.port());
    p.initialize();
    check_wrong_argument_types(
        [&](const std::string& m, const json& params) { return p.request(m, params); });
  }
}

}  // namespace para::test
