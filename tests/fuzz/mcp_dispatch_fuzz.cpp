// libFuzzer target: arbitrary bytes through the stdio framing (LineFramer)
// and JSON-RPC dispatch (dispatch_line -> Session::receive) of a server with
// tools, resources, templates and prompts, as a client on stdin would send
// them. Every request must get exactly one answer (or none when it is a
// notification); nothing may crash, hang or leak. The HTTP transport's pure
// checks see the same bytes.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "mcp/context.h"
#include "mcp/http_policy.h"
#include "mcp/server.h"
#include "mcp/session.h"
#include "mcp/sse_stream.h"
#include "mcp/stdio_transport.h"
#include "mcp/uri_template.h"

namespace {

using nlohmann::json;
using namespace para;

class Capture : public mcp::Outbound {
 public:
  void send(const json& m) override { (void)mcp::jsonrpc::dump(m); }
  void finish(std::optional<json> r) override {
    if (r) (void)mcp::jsonrpc::dump(*r);
    std::lock_guard lock(mutex_);
    ++finished_;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return finished_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int finished_ = 0;
};

mcp::Server& server() {
  static mcp::Server* s = [] {
    auto* srv = new mcp::Server({.name = "fuzz", .instructions = "fuzz"}, {.page_size = 2});
    const json schema =
        json::parse(R"({"type":"object","required":["s"],"additionalProperties":false,
      "properties":{"s":{"type":"string","maxLength":64},"n":{"type":"integer","minimum":0},
      "a":{"type":"array","items":{"$ref":"#/$defs/x"}},"v":{"oneOf":[{"type":"string"},{"type":"boolean"}]}},
      "$defs":{"x":{"type":"object","properties":{"k":{"enum":[1,"2",null]}}}}})");
    (void)srv->add_tool(
        {.name = "echo",
         .description = "echo",
         .input_schema = schema,
         .output_schema = json::parse(R"({"type":"object","required":["s"]})"),
         .handler = [](const json& a, mcp::ToolContext& ctx) -> Result<mcp::ToolResult> {
           ctx.progress(1, 2, "half");
           ctx.log(mcp::LogLevel::info, a);
           if (a["s"] == "fail") return fail(Errc::not_found, "no");
           mcp::ToolResult r;
           r.structured = json{{"s", a["s"]}};
           return r;
         }});
    (void)srv->add_tool({.name = "plain",
                         .description = "plain",
                         .input_schema = json{{"type", "object"}},
                         .handler = [](const json&, mcp::ToolContext&) -> Result<mcp::ToolResult> {
                           return mcp::ToolResult::text("ok");
                         }});
    (void)srv->add_resource({.uri = "x://r",
                             .name = "r",
                             .read = [](const std::string& u, mcp::ToolContext&) -> Result<json> {
                               return json::array({{{"uri", u}, {"text", "t"}}});
                             }});
    (void)srv->add_resource_template(
        {.uri_template = "x://t/{id}/d",
         .name = "t",
         .read = [](const std::string& u, const std::map<std::string, std::string>& v,
                    mcp::ToolContext&) -> Result<json> {
           return json::array({{{"uri", u}, {"text", v.at("id")}}});
         },
         .complete = [](const std::string&, const std::string& p,
                        const json&) { return std::vector<std::string>{p}; }});
    (void)srv->add_prompt(
        {.name = "p",
         .description = "p",
         .arguments = {{.name = "a", .required = true}},
         .handler = [](const std::map<std::string, std::string>& a,
                       mcp::ToolContext&) -> Result<json> {
           return json{{"messages", {mcp::prompt_message("user", mcp::text_content(a.at("a")))}}};
         }});
    return srv;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto session = server().create_session(std::make_shared<Capture>());
  mcp::LineFramer framer(4096);
  auto dispatch = [&](const mcp::LineFramer::Frame& frame) {
    auto reply = std::make_shared<Capture>();
    mcp::dispatch_line(*session, frame, 4096, reply);
    reply->wait();  // exactly one finish per message, also for async requests
  };
  for (const auto& frame : framer.feed(bytes)) dispatch(frame);
  if (auto last = framer.finish()) dispatch(*last);
  session->close();

  namespace policy = mcp::http_policy;
  (void)policy::host_allowed(bytes, policy::loopback_hosts());
  (void)policy::origin_allowed(bytes, policy::loopback_hosts(), {"http://a.example"});
  (void)policy::accepts(bytes, "text/event-stream");
  (void)policy::bearer_matches(bytes, "token");
  (void)mcp::SseStream::parse_event_id(bytes);
  (void)mcp::match_uri_template("x://t/{id}/d", bytes);
  (void)mcp::is_valid_uri_template(bytes);
  return 0;
}
