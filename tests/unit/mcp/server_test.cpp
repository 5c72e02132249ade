#include "mcp/server.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <stdexcept>
#include <thread>

#include "mcp/session.h"

namespace para::mcp {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json request(int id, const std::string& method, json params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json initialize_request(const std::string& version = "2025-11-25", json caps = json::object()) {
  return request(0, "initialize",
                 {{"protocolVersion", version},
                  {"capabilities", std::move(caps)},
                  {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
}

json object_schema(json properties, std::vector<std::string> required = {}) {
  json s{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) s["required"] = required;
  return s;
}

/// Records what a transport would send; lets tests wait for messages.
class Recorder : public Outbound {
 public:
  void send(const json& m) override {
    std::lock_guard lock(mutex_);
    messages_.push_back(m);
    cv_.notify_all();
  }
  void finish(std::optional<json> r) override {
    std::lock_guard lock(mutex_);
    finished_ = true;
    response_ = std::move(r);
    cv_.notify_all();
  }
  bool wait_for(const std::function<bool(const std::vector<json>&, bool)>& done,
                std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return done(messages_, finished_); });
  }
  std::vector<json> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::optional<json> response() {
    std::lock_guard lock(mutex_);
    return response_;
  }
  bool finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<json> messages_;
  bool finished_ = false;
  std::optional<json> response_;
};

/// A server with tools that work, fail, throw, report progress, block.
struct ServerFixture {
  Server server{{.name = "test-server", .version = "1.2.3", .instructions = "Use the tools."},
                {.page_size = 2}};
  std::shared_ptr<Recorder> standalone = std::make_shared<Recorder>();
  std::shared_ptr<Session> session;
  std::atomic<bool> saw_cancel{false};
  std::atomic<bool> block_started{false};

  ServerFixture() {
    REQUIRE(server.add_tool(
        {.name = "add",
         .description = "Adds",
         .input_schema =
             object_schema({{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}, {"a", "b"}),
         .output_schema = object_schema({{"sum", {{"type", "number"}}}}, {"sum"}),
         .annotations = {{"readOnlyHint", true}},
         .handler = [](const json& a, ToolContext&) -> Result<ToolResult> {
           ToolResult r;
           r.structured = json{{"sum", a["a"].get<double>() + a["b"].get<double>()}};
           return r;
         }}));
    REQUIRE(server.add_tool({.name = "fails",
                             .description = "Fails",
                             .input_schema = object_schema(json::object()),
                             .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                               return fail(Errc::not_found,
                                           "no session named x; para_list shows them");
                             }}));
    REQUIRE(server.add_tool({.name = "throws",
                             .description = "Throws",
                             .input_schema = object_schema(json::object()),
                             .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                               throw std::runtime_error("boom");
                             }}));
    REQUIRE(server.add_tool({.name = "bad_output",
                             .description = "Breaks its output schema",
                             .input_schema = object_schema(json::object()),
                             .output_schema = object_schema({{"n", {{"type", "integer"}}}}, {"n"}),
                             .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                               ToolResult r;
                               r.structured = json{{"n", "one"}};
                               return r;
                             }}));
    REQUIRE(server.add_tool({.name = "progress",
                             .description = "Reports progress and logs",
                             .input_schema = object_schema(json::object()),
                             .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
                               ctx.progress(1, 3);
                               ctx.progress(1, 3);  // not increasing: dropped
                               ctx.progress(2, 3, "half");
                               ctx.log(LogLevel::debug, "debug line");
                               ctx.log(LogLevel::warning, json{{"k", "v"}}, "tests");
                               return ToolResult::text("done");
                             }}));
    REQUIRE(
        server.add_tool({.name = "block",
                         .description = "Blocks until cancelled",
                         .input_schema = object_schema(json::object()),
                         .handler = [this](const json&, ToolContext& ctx) -> Result<ToolResult> {
                           block_started = true;
                           while (!ctx.wait_cancelled(10ms)) {
                           }
                           saw_cancel = true;
                           return ToolResult::text("cancelled");
                         }}));
    REQUIRE(
        server.add_tool({.name = "ask",
                         .description = "Asks the client for sampling",
                         .input_schema = object_schema(json::object()),
                         .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
                           auto r = ctx.request("sampling/createMessage", {{"maxTokens", 5}}, 2s);
                           if (!r) return fail(r.error());
                           return ToolResult::text("model said " + r->dump());
                         }}));
    session = server.create_session(standalone);
  }

  json call(const json& message, std::vector<json>* related = nullptr) {
    auto r = session->handle(message, related);
    REQUIRE(r.has_value());
    return *r;
  }
  void init(json caps = json::object()) {
    REQUIRE(call(initialize_request("2025-11-25", std::move(caps))).contains("result"));
    CHECK_FALSE(session->handle({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}));
  }
  json tool(const std::string& name, json args = json::object(),
            std::vector<json>* related = nullptr, json meta = nullptr) {
    json params{{"name", name}, {"arguments", std::move(args)}};
    if (!meta.is_null()) params["_meta"] = std::move(meta);
    return call(request(9, "tools/call", std::move(params)), related);
  }
};

}  // namespace

TEST_SUITE("mcp/server") {
  TEST_CASE_FIXTURE(ServerFixture,
                    "initialize echoes a supported version and offers the latest otherwise") {
    auto s1 = server.create_session(standalone);
    const json r1 = *s1->handle(initialize_request("2025-03-26"));
    CHECK(r1["result"]["protocolVersion"] == "2025-03-26");
    CHECK(r1["result"]["serverInfo"]["name"] == "test-server");
    CHECK(r1["result"]["instructions"] == "Use the tools.");
    for (const char* cap : {"tools", "resources", "prompts", "logging", "completions"}) {
      CAPTURE(cap);
      CHECK(r1["result"]["capabilities"].contains(cap));
    }
    auto s2 = server.create_session(standalone);
    CHECK((*s2->handle(initialize_request("1999-01-01")))["result"]["protocolVersion"] ==
          "2025-11-25");
    auto s3 = server.create_session(standalone);
    CHECK((*s3->handle(initialize_request("2025-06-18")))["result"]["protocolVersion"] ==
          "2025-06-18");
  }

  TEST_CASE_FIXTURE(ServerFixture, "requests before initialize are refused, except ping") {
    CHECK(call(request(1, "ping"))["result"] == json::object());
    const json r = call(request(2, "tools/list"));
    CHECK(r["error"]["code"] == jsonrpc::kInvalidRequest);
    CHECK(r["error"]["message"].get<std::string>().find("initialize") != std::string::npos);
    init();
    CHECK(call(request(3, "tools/list")).contains("result"));
  }

  TEST_CASE_FIXTURE(ServerFixture, "a malformed or repeated initialize is an error") {
    const json bad = call(request(1, "initialize", {{"protocolVersion", 2025}}));
    CHECK(bad["error"]["code"] == jsonrpc::kInvalidParams);
    CHECK_FALSE(session->initialized());
    init();
    CHECK(call(initialize_request())["error"]["code"] == jsonrpc::kInvalidRequest);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "unknown methods, bad messages and batches get JSON-RPC errors") {
    init();
    CHECK(call(request(1, "nope/nothing"))["error"]["code"] == jsonrpc::kMethodNotFound);
    CHECK(call(json::array({request(2, "ping")}))["error"]["code"] == jsonrpc::kInvalidRequest);
    CHECK(
        call(json{
            {"jsonrpc", "2.0"}, {"id", 3}, {"method", "ping"}, {"params", "x"}})["error"]["code"] ==
        jsonrpc::kInvalidParams);
    CHECK_FALSE(session->handle({{"jsonrpc", "2.0"}, {"method", "notifications/unknown"}}));
    CHECK(call(request(4, "ping"))["result"] == json::object());
  }

  TEST_CASE_FIXTURE(ServerFixture, "tools/list pages through every tool in registration order") {
    init();
    std::vector<std::string> names;
    json params = json::object();
    for (int page = 0; page < 10; ++page) {
      const json r = call(request(page, "tools/list", params));
      for (const json& t : r["result"]["tools"]) names.push_back(t["name"]);
      if (!r["result"].contains("nextCursor")) break;
      params = {{"cursor", r["result"]["nextCursor"]}};
    }
    CHECK(names == std::vector<std::string>{"add", "fails", "throws", "bad_output", "progress",
                                            "block", "ask"});
    const json first = call(request(20, "tools/list"))["result"]["tools"][0];
    CHECK(first["description"] == "Adds");
    CHECK(first["inputSchema"]["type"] == "object");
    CHECK(first["outputSchema"]["required"][0] == "sum");
    CHECK(first["annotations"]["readOnlyHint"] == true);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "tools/list, answered from cached text, follows the tools and echoes each id") {
    init();
    const auto first_page = [&](const json& id) {
      json r = call({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}});
      CHECK(r["id"] == id);
      std::vector<std::string> names;
      for (const json& t : r["result"]["tools"]) names.push_back(t["name"]);
      CHECK(r["result"].contains("nextCursor"));
      return names;
    };
    CHECK(first_page(1) == std::vector<std::string>{"add", "fails"});
    CHECK(first_page("a \"quoted\" id \u00e9") == std::vector<std::string>{"add", "fails"});
    REQUIRE(server.remove_tool("add"));
    CHECK(first_page(2) == std::vector<std::string>{"fails", "throws"});
    REQUIRE(server.add_tool({.name = "add",
                             .input_schema = object_schema(json::object()),
                             .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                               return ToolResult::text("again");
                             }}));
    CHECK(first_page(3) == std::vector<std::string>{"fails", "throws"});
    // The moved tool is last now: the last page shows it, without its old description.
    json params = json::object();
    json last;
    for (int page = 0; page < 10; ++page) {
      last = call(request(10 + page, "tools/list", params))["result"];
      if (!last.contains("nextCursor")) break;
      params = {{"cursor", last["nextCursor"]}};
    }
    CHECK(last["tools"].back()["name"] == "add");
    CHECK_FALSE(last["tools"].back().contains("description"));
  }

  TEST_CASE_FIXTURE(ServerFixture, "an invalid cursor is -32602") {
    init();
    for (const json& cursor :
         {json("zz"), json(""), json(12), json("746f6f6c732f6c697374233939")}) {
      CAPTURE(cursor.dump());
      CHECK(call(request(1, "tools/list", {{"cursor", cursor}}))["error"]["code"] ==
            jsonrpc::kInvalidParams);
    }
    // A cursor issued for another list is not accepted either.
    const json tools = call(request(2, "tools/list"));
    CHECK(call(request(3, "prompts/list",
                       {{"cursor", tools["result"]["nextCursor"]}}))["error"]["code"] ==
          jsonrpc::kInvalidParams);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a valid call returns structured content and its text") {
    init();
    const json r = tool("add", {{"a", 2}, {"b", 3}});
    CHECK(r["result"]["structuredContent"]["sum"] == 5.0);
    CHECK(r["result"]["content"][0]["type"] == "text");
    CHECK(json::parse(r["result"]["content"][0]["text"].get<std::string>())["sum"] == 5.0);
    CHECK_FALSE(r["result"].contains("isError"));
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "invalid arguments are an isError result naming every bad field") {
    init();
    const json r = tool("add", {{"a", "two"}});
    CHECK(r["result"]["isError"] == true);
    const std::string text = r["result"]["content"][0]["text"];
    CHECK(text.find("arguments.a: expected number, got string") != std::string::npos);
    CHECK(text.find("arguments.b") != std::string::npos);
    CHECK(text.find("add") != std::string::npos);
  }

  TEST_CASE_FIXTURE(ServerFixture, "unknown tools and non-object arguments are -32602") {
    init();
    CHECK(tool("missing")["error"]["code"] == jsonrpc::kInvalidParams);
    CHECK(tool("add", json::array({1, 2}))["error"]["code"] == jsonrpc::kInvalidParams);
    CHECK(call(request(1, "tools/call", {{"arguments", json::object()}}))["error"]["code"] ==
          jsonrpc::kInvalidParams);
    // Absent or null arguments are an empty object.
    CHECK(call(request(2, "tools/call", {{"name", "fails"}}))["result"]["isError"] == true);
    CHECK(call(request(3, "tools/call",
                       {{"name", "fails"}, {"arguments", nullptr}}))["result"]["isError"] == true);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a handler's Error and exception become isError results") {
    init();
    const json failed = tool("fails");
    CHECK(failed["result"]["isError"] == true);
    CHECK(failed["result"]["content"][0]["text"] == "no session named x; para_list shows them");
    const json thrown = tool("throws");
    CHECK(thrown["result"]["isError"] == true);
    CHECK(thrown["result"]["content"][0]["text"].get<std::string>().find("boom") !=
          std::string::npos);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "structured output that breaks the output schema is an internal error") {
    init();
    const json r = tool("bad_output");
    CHECK(r["error"]["code"] == jsonrpc::kInternalError);
    CHECK(r["error"]["message"].get<std::string>().find("structuredContent.n") !=
          std::string::npos);
  }

  TEST_CASE_FIXTURE(ServerFixture, "progress goes out only with a token and only increasing") {
    init();
    std::vector<json> related;
    tool("progress", json::object(), &related, {{"progressToken", "tok"}});
    std::vector<double> progress;
    for (const json& m : related) {
      if (m["method"] == "notifications/progress") {
        CHECK(m["params"]["progressToken"] == "tok");
        progress.push_back(m["params"]["progress"]);
      }
    }
    CHECK(progress == std::vector<double>{1, 2});
    related.clear();
    tool("progress", json::object(), &related);
    for (const json& m : related) CHECK(m["method"] != "notifications/progress");
  }

  TEST_CASE_FIXTURE(ServerFixture, "log messages respect logging/setLevel") {
    init();
    auto levels = [&] {
      std::vector<json> related;
      tool("progress", json::object(), &related);
      std::vector<std::string> out;
      for (const json& m : related) {
        if (m["method"] == "notifications/message") out.push_back(m["params"]["level"]);
      }
      return out;
    };
    CHECK(levels() == std::vector<std::string>{"warning"});  // default: info and above
    CHECK(call(request(1, "logging/setLevel", {{"level", "debug"}}))["result"] == json::object());
    CHECK(levels() == std::vector<std::string>{"debug", "warning"});
    CHECK(call(request(2, "logging/setLevel", {{"level", "error"}}))["result"] == json::object());
    CHECK(levels().empty());
    CHECK(call(request(3, "logging/setLevel", {{"level", "loud"}}))["error"]["code"] ==
          jsonrpc::kInvalidParams);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "notifications/cancelled stops the work and drops the response") {
    init();
    auto reply = std::make_shared<Recorder>();
    session->receive(request(42, "tools/call", {{"name", "block"}}), reply);
    // The reader is free meanwhile: ping is answered.
    CHECK(call(request(43, "ping"))["result"] == json::object());
    CHECK(session->in_flight() == 1);
    // Running, not queued (a request cancelled in the queue never runs).
    while (!block_started) std::this_thread::sleep_for(1ms);
    session->receive({{"jsonrpc", "2.0"},
                      {"method", "notifications/cancelled"},
                      {"params", {{"requestId", 42}}}},
                     nullptr);
    REQUIRE(reply->wait_for([](const auto&, bool finished) { return finished; }));
    CHECK_FALSE(reply->response().has_value());
    CHECK(saw_cancel);
    CHECK(session->in_flight() == 0);
  }

  TEST_CASE_FIXTURE(ServerFixture, "a request id in use by a running request is refused") {
    init();
    auto reply = std::make_shared<Recorder>();
    session->receive(request(7, "tools/call", {{"name", "block"}}), reply);
    CHECK(call(request(7, "tools/call", {{"name", "fails"}}))["error"]["code"] ==
          jsonrpc::kInvalidRequest);
    session->close();
    REQUIRE(reply->wait_for([](const auto&, bool finished) { return finished; }));
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "server-to-client requests are correlated with the client's response") {
    init({{"sampling", json::object()}});
    auto reply = std::make_shared<Recorder>();
    session->receive(request(5, "tools/call", {{"name", "ask"}}), reply);
    REQUIRE(reply->wait_for([](const std::vector<json>& m, bool) { return !m.empty(); }));
    const json asked = reply->messages().front();
    CHECK(asked["method"] == "sampling/createMessage");
    session->receive({{"jsonrpc", "2.0"}, {"id", asked["id"]}, {"result", {{"model", "m"}}}},
                     nullptr);
    REQUIRE(reply->wait_for([](const auto&, bool finished) { return finished; }));
    CHECK(reply->response().value()["result"]["content"][0]["text"] ==
          R"(model said {"model":"m"})");
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "server-to-client requests fail without the capability or an answer") {
    init();  // no sampling capability
    const json r = tool("ask");
    CHECK(r["result"]["isError"] == true);
    CHECK(r["result"]["content"][0]["text"].get<std::string>().find("does not support sampling") !=
          std::string::npos);

    auto s = server.create_session(standalone);
    s->handle(initialize_request("2025-11-25", {{"sampling", json::object()}}));
    std::vector<json> related;
    const json timed_out = *s->handle(request(1, "tools/call", {{"name", "ask"}}), &related);
    CHECK(timed_out["result"]["isError"] == true);
    CHECK(timed_out["result"]["content"][0]["text"].get<std::string>().find("in time") !=
          std::string::npos);
    REQUIRE(related.size() == 2);
    CHECK(related[1]["method"] == "notifications/cancelled");
  }

  TEST_CASE("resources, templates and their errors") {
    Server server({.name = "r"});
    REQUIRE(server.add_resource({.uri = "x://config",
                                 .name = "config",
                                 .mime_type = "application/json",
                                 .read = [](const std::string& uri, ToolContext&) -> Result<json> {
                                   return json::array({{{"uri", uri}, {"text", "{}"}}});
                                 }}));
    REQUIRE(server.add_resource_template(
        {.uri_template = "x://sessions/{name}",
         .name = "session",
         .read = [](const std::string& uri, const std::map<std::string, std::string>& v,
                    ToolContext&) -> Result<json> {
           if (v.at("name") == "ghost") return fail(Errc::not_found, "no session ghost");
           if (v.at("name") == "broken") return fail(Errc::io, "disk on fire");
           return json::array({{{"uri", uri}, {"text", v.at("name")}}});
         },
         .list = [] { return std::vector<Resource>{{.uri = "x://sessions/a", .name = "a"}}; },
         .complete =
             [](const std::string&, const std::string& prefix, const json&) {
               return std::vector<std::string>{prefix + "1", prefix + "2"};
             }}));
    auto session = server.create_session(nullptr);
    session->handle(initialize_request());
    const json list = *session->handle(request(1, "resources/list"));
    REQUIRE(list["result"]["resources"].size() == 2);
    CHECK(list["result"]["resources"][1]["uri"] == "x://sessions/a");
    CHECK((*session->handle(request(
              2, "resources/templates/list")))["result"]["resourceTemplates"][0]["uriTemplate"] ==
          "x://sessions/{name}");
    CHECK((*session->handle(
              request(3, "resources/read",
                      {{"uri", "x://sessions/b"}})))["result"]["contents"][0]["text"] == "b");
    const json missing = *session->handle(request(4, "resources/read", {{"uri", "x://nothing"}}));
    CHECK(missing["error"]["code"] == jsonrpc::kResourceNotFound);
    CHECK(missing["error"]["data"]["uri"] == "x://nothing");
    CHECK((*session->handle(
              request(5, "resources/read", {{"uri", "x://sessions/ghost"}})))["error"]["code"] ==
          jsonrpc::kResourceNotFound);
    const json broken =
        *session->handle(request(6, "resources/read", {{"uri", "x://sessions/broken"}}));
    CHECK(broken["error"]["code"] == jsonrpc::kInternalError);
    CHECK(broken["error"]["message"] == "disk on fire");
    const json completed = *session->handle(
        request(7, "completion/complete",
                {{"ref", {{"type", "ref/resource"}, {"uri", "x://sessions/{name}"}}},
                 {"argument", {{"name", "name"}, {"value", "s"}}}}));
    CHECK(completed["result"]["completion"]["values"] == json::array({"s1", "s2"}));
  }

  TEST_CASE("prompts validate their arguments") {
    Server server({.name = "p"});
    REQUIRE(server.add_prompt(
        {.name = "dispatch",
         .description = "Dispatch",
         .arguments = {{.name = "task", .required = true}, {.name = "hint"}},
         .handler = [](const std::map<std::string, std::string>& a, ToolContext&) -> Result<json> {
           return json{{"messages", {prompt_message("user", text_content(a.at("task")))}}};
         }}));
    auto session = server.create_session(nullptr);
    session->handle(initialize_request());
    const json listed = *session->handle(request(1, "prompts/list"));
    CHECK(listed["result"]["prompts"][0]["arguments"][0]["required"] == true);
    const json ok = *session->handle(request(
        2, "prompts/get", {{"name", "dispatch"}, {"arguments", {{"task", "$(rm -rf /)"}}}}));
    CHECK(ok["result"]["messages"][0]["content"]["text"] == "$(rm -rf /)");
    CHECK((*session->handle(request(3, "prompts/get", {{"name", "dispatch"}})))["error"]["code"] ==
          jsonrpc::kInvalidParams);
    CHECK((*session->handle(
              request(4, "prompts/get",
                      {{"name", "dispatch"}, {"arguments", {{"task", 1}}}})))["error"]["code"] ==
          jsonrpc::kInvalidParams);
    CHECK((*session->handle(request(5, "prompts/get", {{"name", "other"}})))["error"]["code"] ==
          jsonrpc::kInvalidParams);
    CHECK((*session->handle(
              request(6, "completion/complete",
                      {{"ref", {{"type", "ref/prompt"}, {"name", "dispatch"}}},
                       {"argument",
                        {{"name", "task"}, {"value", ""}}}})))["result"]["completion"]["values"] ==
          json::array());
    CHECK((*session->handle(request(7, "completion/complete", {{"ref", 5}})))["error"]["code"] ==
          jsonrpc::kInvalidParams);
  }

  TEST_CASE_FIXTURE(ServerFixture,
                    "subscribers get resources/updated and every session gets list_changed") {
    init();
    CHECK(call(request(1, "resources/subscribe", {{"uri", "x://watched"}}))["result"] ==
          json::object());
    server.notify_resource_updated("x://other");
    server.notify_resource_updated("x://watch");  // a prefix, not a parent
    server.notify_resource_updated("x://watched");
    REQUIRE(server.add_tool({.name = "late",
                             .description = "Added late",
                             .input_schema = object_schema(json::object()),
                             .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                               return ToolResult::text("late");
                             }}));
    const auto sent = standalone->messages();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0]["method"] == "notifications/resources/updated");
    CHECK(sent[0]["params"]["uri"] == "x://watched");
    CHECK(sent[1]["method"] == "notifications/tools/list_changed");
    CHECK(call(request(2, "resources/unsubscribe", {{"uri", "x://watched"}}))["result"] ==
          json::object());
    server.notify_resource_updated("x://watched");
    CHECK(standalone->messages().size() == 2);
    CHECK(call(request(3, "resources/subscribe", {{"uri", 7}}))["error"]["code"] ==
          jsonrpc::kInvalidParams);
    // A change of a collection touches the subscribed resources below it.
    CHECK(call(request(4, "resources/subscribe", {{"uri", "x://all/one"}}))["result"] ==
          json::object());
    server.notify_resource_updated("x://all");
    const auto after = standalone->messages();
    REQUIRE(after.size() == 3);
    CHECK(after[2]["method"] == "notifications/resources/updated");
    CHECK(after[2]["params"]["uri"] == "x://all/one");
  }

  TEST_CASE("registration refuses bad names, schemas and duplicates") {
    Server server({.name = "reg"});
    auto handler = [](const json&, ToolContext&) -> Result<ToolResult> {
      return ToolResult::text("");
    };
    const json schema = object_schema(json::object());
    CHECK(server.add_tool({.name = "ok.tool-1", .input_schema = schema, .handler = handler}));
    CHECK(server.add_tool({.name = "ok.tool-1", .input_schema = schema, .handler = handler})
              .error()
              .code == Errc::already_exists);
    CHECK(server.add_tool({.name = "bad name", .input_schema = schema, .handler = handler})
              .error()
              .code == Errc::invalid_argument);
    CHECK(
        server.add_tool({.name = std::string(129, 'a'), .input_schema = schema, .handler = handler})
            .error()
            .code == Errc::invalid_argument);
    CHECK(
        server.add_tool({.name = "s", .input_schema = json{{"type", "string"}}, .handler = handler})
            .error()
            .code == Errc::invalid_argument);
    CHECK(server.add_tool({.name = "nohandler", .input_schema = schema}).error().code ==
          Errc::invalid_argument);
    CHECK_FALSE(server.add_resource_template(
        {.uri_template = "x://{", .name = "t", .read = [](auto&, auto&, auto&) -> Result<json> {
           return json::array();
         }}));
    CHECK(server.remove_tool("ok.tool-1"));
    CHECK_FALSE(server.remove_tool("ok.tool-1"));
  }

  TEST_CASE("a detached ToolContext does nothing and never reports cancellation") {
    ToolContext ctx;
    ctx.progress(1);
    ctx.log(LogLevel::error, "x");
    CHECK_FALSE(ctx.cancelled());
    CHECK_FALSE(ctx.wait_cancelled(1ms));
    CHECK(ctx.request("sampling/createMessage", json::object()).error().code == Errc::unavailable);
  }
}

}  // namespace para::mcp
