// The conformance fixture server: our mcp/ library with the tools, resources
// and prompts the official MCP conformance suite expects (the names of its
// reference "everything server"), written from the suite's scenario
// descriptions. Also the peer of the mcp integration tests: --extra-tools
// adds tools that exercise cancellation, structured output, exceptions and
// resource updates.
//
//   mcp-conformance-fixture [--stdio | --http [HOST:]PORT] [--extra-tools]
//                           [--page-size N] [--idle-timeout SECONDS]
//                           [--max-sessions N] [--auth-token TOKEN]

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/process.h"
#include "mcp/context.h"
#include "mcp/http_transport.h"
#include "mcp/server.h"
#include "mcp/stdio_transport.h"

namespace {

using nlohmann::json;
using para::Errc;
using para::Result;
using para::mcp::LogLevel;
using para::mcp::ToolContext;
using para::mcp::ToolResult;

// A 1x1 PNG and a minimal WAV file (test data).
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg"
    "==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const json kNoArgs = json{{"type", "object"}, {"properties", json::object()}};

json object_schema(json properties, std::vector<std::string> required = {}) {
  json schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void check(const para::Result<void>& r) {
  if (!r) throw std::runtime_error("registration failed: " + r.error().message);
}

// A tool that asks the client something and reports what came back (the
// reference fixture answers failures as plain text, not isError).
ToolResult ask_client(ToolContext& ctx, const std::string& method, json params,
                      const std::string& prefix, const std::string& failure_prefix) {
  auto answer = ctx.request(method, std::move(params));
  if (!answer) return ToolResult::text(failure_prefix + answer.error().message);
  return ToolResult::text(prefix + answer->dump());
}

json elicitation(std::string message, json properties) {
  return json{
      {"message", std::move(message)},
      {"requestedSchema",
       {{"type", "object"}, {"properties", std::move(properties)}, {"required", json::array()}}}};
}

void add_conformance_tools(para::mcp::Server& s) {
  using para::mcp::Tool;
  auto simple = [&](std::string name, std::string description, json content) {
    check(s.add_tool(Tool{.name = std::move(name),
                          .description = std::move(description),
                          .input_schema = kNoArgs,
                          .handler = [content](const json&, ToolContext&) -> Result<ToolResult> {
                            ToolResult r;
                            r.content = content;
                            return r;
                          }}));
  };
  simple("test_simple_text", "Tests simple text content response",
         json::array({para::mcp::text_content("This is a simple text response for testing.")}));
  simple("test_image_content", "Tests image content response",
         json::array({para::mcp::image_content(kPng, "image/png")}));
  simple("test_audio_content", "Tests audio content response",
         json::array({para::mcp::audio_content(kWav, "audio/wav")}));
  simple("test_embedded_resource", "Tests embedded resource content response",
         json::array({para::mcp::embedded_text_resource("test://embedded-resource", "text/plain",
                                                        "This is an embedded resource content.")}));
  simple("test_multiple_content_types",
         "Tests response with multiple content types (text, image, resource)",
         json::array(
             {para::mcp::text_content("Multiple content types test:"),
              para::mcp::image_content(kPng, "image/png"),
              para::mcp::embedded_text_resource("test://mixed-content-resource", "application/json",
                                                R"({"test":"data","value":123})")}));

  check(s.add_tool(Tool{.name = "test_tool_with_logging",
                        .description = "Tests tool that emits log messages during execution",
                        .input_schema = kNoArgs,
                        .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
                          ctx.log(LogLevel::info, "Tool execution started");
                          sleep_ms(50);
                          ctx.log(LogLevel::info, "Tool processing data");
                          sleep_ms(50);
                          ctx.log(LogLevel::info, "Tool execution completed");
                          sleep_ms(
                              20);  // the SDK client drops notifications read with the response
                          return ToolResult::text("Tool with logging executed successfully");
                        }}));

  check(s.add_tool(
      Tool{.name = "test_tool_with_progress",
           .description = "Tests tool that reports progress notifications",
           .input_schema = kNoArgs,
           .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
             for (int step : {0, 50, 100}) {
               ctx.progress(step, 100, "Completed step " + std::to_string(step) + " of 100");
               sleep_ms(50);
             }
             const json token =
                 ctx.meta().is_object() ? ctx.meta().value("progressToken", json(0)) : json(0);
             return ToolResult::text(token.is_string() ? token.get<std::string>() : token.dump());
           }}));

  check(s.add_tool(Tool{.name = "test_error_handling",
                        .description = "Tests error response handling",
                        .input_schema = kNoArgs,
                        .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                          return para::fail(Errc::tool_failed,
                                            "This tool intentionally returns an error for testing");
                        }}));

  check(s.add_tool(Tool{
      .name = "test_reconnection",
      .description =
          "Tests SSE stream disconnection and client reconnection (SEP-1699): the server closes "
          "the stream mid-call and sends the result after the client reconnects.",
      .input_schema = kNoArgs,
      .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
        ctx.close_sse_stream();
        sleep_ms(100);
        return ToolResult::text(
            "Reconnection test completed successfully. If you received this, the client properly "
            "reconnected after stream closure.");
      }}));

  check(s.add_tool(Tool{
      .name = "test_sampling",
      .description = "Tests server-initiated sampling (LLM completion request)",
      .input_schema = object_schema(
          {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}},
          {"prompt"}),
      .handler = [](const json& args, ToolContext& ctx) -> Result<ToolResult> {
        json params{{"messages",
                     json::array({{{"role", "user"},
                                   {"content", {{"type", "text"}, {"text", args["prompt"]}}}}})},
                    {"maxTokens", 100}};
        auto answer = ctx.request("sampling/createMessage", std::move(params));
        if (!answer)
          return ToolResult::text("Sampling not supported or error: " + answer.error().message);
        const json content = answer->value("content", json::object());
        const std::string text = content.is_object() && content.value("text", json()).is_string()
                                     ? content["text"].get<std::string>()
                                     : "No response";
        return ToolResult::text("LLM response: " + text);
      }}));

  check(s.add_tool(Tool{
      .name = "test_elicitation",
      .description = "Tests server-initiated elicitation (user input request)",
      .input_schema = object_schema(
          {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}},
          {"message"}),
      .handler = [](const json& args, ToolContext& ctx) -> Result<ToolResult> {
        json params =
            elicitation(args["message"].get<std::string>(),
                        {{"username", {{"type", "string"}, {"description", "User's response"}}},
                         {"email", {{"type", "string"}, {"description", "User's email address"}}}});
        params["requestedSchema"]["required"] = {"username", "email"};
        return ask_client(ctx, "elicitation/create", std::move(params),
                          "User response: ", "Elicitation not supported or error: ");
      }}));

  check(s.add_tool(Tool{
      .name = "test_elicitation_sep1034_defaults",
      .description = "Tests elicitation with default values per SEP-1034",
      .input_schema = kNoArgs,
      .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
        json props{
            {"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
            {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
            {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
            {"status",
             {{"type", "string"},
              {"description", "User status"},
              {"enum", {"active", "inactive", "pending"}},
              {"default", "active"}}},
            {"verified",
             {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
        return ask_client(
            ctx, "elicitation/create",
            elicitation("Please review and update the form fields with defaults", props),
            "Elicitation completed: ", "Elicitation not supported or error: ");
      }}));

  check(s.add_tool(Tool{
      .name = "test_elicitation_sep1330_enums",
      .description = "Tests elicitation with enum schema improvements per SEP-1330",
      .input_schema = kNoArgs,
      .handler = [](const json&, ToolContext& ctx) -> Result<ToolResult> {
        auto titled = [](const char* prefix, const char* word) {
          json out = json::array();
          const char* ordinals[] = {"First", "Second", "Third"};
          for (int i = 0; i < 3; ++i) {
            out.push_back({{"const", std::string(prefix) + std::to_string(i + 1)},
                           {"title", std::string(ordinals[i]) + " " + word}});
          }
          return out;
        };
        json props{{"untitledSingle",
                    {{"type", "string"},
                     {"description", "Select one option"},
                     {"enum", {"option1", "option2", "option3"}}}},
                   {"titledSingle",
                    {{"type", "string"},
                     {"description", "Select one option with titles"},
                     {"oneOf", titled("value", "Option")}}},
                   {"legacyEnum",
                    {{"type", "string"},
                     {"description", "Select one option (legacy)"},
                     {"enum", {"opt1", "opt2", "opt3"}},
                     {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                   {"untitledMulti",
                    {{"type", "array"},
                     {"description", "Select multiple options"},
                     {"minItems", 1},
                     {"maxItems", 3},
                     {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
                   {"titledMulti",
                    {{"type", "array"},
                     {"description", "Select multiple options with titles"},
                     {"minItems", 1},
                     {"maxItems", 3},
                     {"items", {{"anyOf", titled("value", "Choice")}}}}}};
        return ask_client(ctx, "elicitation/create",
                          elicitation("Please select options from the enum fields", props),
                          "Elicitation completed: ", "Elicitation not supported or error: ");
      }}));

  check(s.add_tool(Tool{
      .name = "json_schema_2020_12_tool",
      .description = "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
      .input_schema = json::parse(R"({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"type": "object",
                              "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
        "additionalProperties": false})"),
      .handler = [](const json& args, ToolContext&) -> Result<ToolResult> {
        return ToolResult::text("JSON Schema 2020-12 tool called with: " + args.dump());
      }}));
}

void add_conformance_resources(para::mcp::Server& s) {
  using para::mcp::Resource;
  auto fixed = [&](std::string uri, std::string name, std::string title, std::string description,
                   std::string mime, json content) {
    check(s.add_resource(
        Resource{.uri = uri,
                 .name = std::move(name),
                 .title = std::move(title),
                 .description = std::move(description),
                 .mime_type = mime,
                 .read = [uri, mime, content](const std::string&, ToolContext&) -> Result<json> {
                   json item{{"uri", uri}, {"mimeType", mime}};
                   item.update(content);
                   return json::array({item});
                 }}));
  };
  fixed("test://static-text", "static-text", "Static Text Resource",
        "A static text resource for testing", "text/plain",
        {{"text", "This is the content of the static text resource."}});
  fixed("test://static-binary", "static-binary", "Static Binary Resource",
        "A static binary resource (image) for testing", "image/png", {{"blob", kPng}});
  fixed("test://watched-resource", "watched-resource", "Watched Resource",
        "A resource clients can subscribe to", "text/plain",
        {{"text", "Watched resource content"}});

  check(s.add_resource_template(para::mcp::ResourceTemplate{
      .uri_template = "test://template/{id}/data",
      .name = "template",
      .title = "Resource Template",
      .description = "A resource template with parameter substitution",
      .mime_type = "application/json",
      .read = [](const std::string& uri, const std::map<std::string, std::string>& vars,
                 ToolContext&) -> Result<json> {
        const std::string id = vars.at("id");
        json body{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return json::array(
            {{{"uri", uri}, {"mimeType", "application/json"}, {"text", body.dump()}}});
      },
      .complete =
          [](const std::string&, const std::string& value, const json&) {
            std::vector<std::string> out;
            for (const char* id : {"1", "2", "3", "123"}) {
              if (std::string(id).rfind(value, 0) == 0) out.push_back(id);
            }
            return out;
          }}));
}

void add_conformance_prompts(para::mcp::Server& s) {
  using para::mcp::Prompt;
  using para::mcp::prompt_message;
  using para::mcp::text_content;
  check(s.add_prompt(Prompt{
      .name = "test_simple_prompt",
      .title = "Simple Test Prompt",
      .description = "A simple prompt without arguments",
      .handler = [](const auto&, ToolContext&) -> Result<json> {
        return json{
            {"messages",
             {prompt_message("user", text_content("This is a simple prompt for testing."))}}};
      }}));
  check(s.add_prompt(Prompt{
      .name = "test_prompt_with_arguments",
      .title = "Prompt With Arguments",
      .description = "A prompt with required arguments",
      .arguments = {{.name = "arg1", .description = "First test argument", .required = true},
                    {.name = "arg2", .description = "Second test argument", .required = true}},
      .handler = [](const std::map<std::string, std::string>& a, ToolContext&) -> Result<json> {
        return json{
            {"messages",
             {prompt_message("user", text_content("Prompt with arguments: arg1='" + a.at("arg1") +
                                                  "', arg2='" + a.at("arg2") + "'"))}}};
      },
      .complete =
          [](const std::string& argument, const std::string& value, const json&) {
            std::vector<std::string> out;
            for (const std::string& v :
                 {argument + "-alpha", argument + "-beta", std::string("test-value")}) {
              if (v.rfind(value, 0) == 0) out.push_back(v);
            }
            return out;
          }}));
  check(s.add_prompt(Prompt{
      .name = "test_prompt_with_embedded_resource",
      .title = "Prompt With Embedded Resource",
      .description = "A prompt that includes an embedded resource",
      .arguments = {{.name = "resourceUri",
                     .description = "URI of the resource to embed",
                     .required = true}},
      .handler = [](const std::map<std::string, std::string>& a, ToolContext&) -> Result<json> {
        return json{{"messages",
                     {prompt_message("user", para::mcp::embedded_text_resource(
                                                 a.at("resourceUri"), "text/plain",
                                                 "Embedded resource content for testing.")),
                      prompt_message(
                          "user", text_content("Please process the embedded resource above."))}}};
      }}));
  check(s.add_prompt(Prompt{
      .name = "test_prompt_with_image",
      .title = "Prompt With Image",
      .description = "A prompt that includes image content",
      .handler = [](const auto&, ToolContext&) -> Result<json> {
        return json{{"messages",
                     {prompt_message("user", para::mcp::image_content(kPng, "image/png")),
                      prompt_message("user", text_content("Please analyze the image above."))}}};
      }}));
}

// Tools for our own integration tests (not part of the conformance fixture).
void add_extra_tools(para::mcp::Server& s) {
  using para::mcp::Tool;
  check(s.add_tool(Tool{
      .name = "test_slow",
      .description = "Runs `steps` steps of `step_ms` ms, reporting progress; stops when cancelled",
      .input_schema =
          object_schema({{"steps", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100000}}},
                         {"step_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}}}},
                        {"steps"}),
      .annotations = {{"readOnlyHint", true}},
      .handler = [](const json& args, ToolContext& ctx) -> Result<ToolResult> {
        const int steps = args["steps"].get<int>();
        const int step_ms = args.value("step_ms", 50);
        for (int i = 1; i <= steps; ++i) {
          if (ctx.wait_cancelled(std::chrono::milliseconds(step_ms))) {
            return para::fail(Errc::conflict,
                              "cancelled after " + std::to_string(i - 1) + " steps");
          }
          ctx.progress(i, steps);
        }
        return ToolResult::text("completed " + std::to_string(steps) + " steps");
      }}));
  check(s.add_tool(Tool{
      .name = "test_structured",
      .description = "Adds two numbers; structured output",
      .input_schema =
          object_schema({{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}, {"a", "b"}),
      .output_schema = object_schema({{"sum", {{"type", "number"}}}}, {"sum"}),
      .annotations = {{"readOnlyHint", true}, {"idempotentHint", true}},
      .handler = [](const json& args, ToolContext&) -> Result<ToolResult> {
        ToolResult r;
        r.structured = json{{"sum", args["a"].get<double>() + args["b"].get<double>()}};
        return r;
      }}));
  check(s.add_tool(
      Tool{.name = "test_broken_output",
           .description =
               "Returns structured output that breaks its own outputSchema (a bug on purpose)",
           .input_schema = kNoArgs,
           .output_schema = object_schema({{"ok", {{"type", "boolean"}}}}, {"ok"}),
           .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
             ToolResult r;
             r.structured = json{{"ok", "yes"}};
             return r;
           }}));
  check(s.add_tool(Tool{.name = "test_throw",
                        .description = "Throws an exception (a bug on purpose)",
                        .input_schema = kNoArgs,
                        .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
                          throw std::runtime_error("deliberate failure");
                        }}));
  check(s.add_tool(Tool{.name = "test_echo",
                        .description = "Returns its text argument unchanged",
                        .input_schema = object_schema({{"text", {{"type", "string"}}}}, {"text"}),
                        .handler = [](const json& args, ToolContext&) -> Result<ToolResult> {
                          ToolResult r = ToolResult::text(args["text"].get<std::string>());
                          return r;
                        }}));
  check(s.add_tool(
      Tool{.name = "test_touch_resource",
           .description = "Sends notifications/resources/updated for a URI to its subscribers",
           .input_schema = object_schema({{"uri", {{"type", "string"}}}}, {"uri"}),
           .handler = [&s](const json& args, ToolContext&) -> Result<ToolResult> {
             s.notify_resource_updated(args["uri"].get<std::string>());
             return ToolResult::text("notified");
           }}));
  check(s.add_tool(Tool{
      .name = "test_stdout_noise",
      .description = "Prints to stdout directly and from a child process (must reach stderr)",
      .input_schema = kNoArgs,
      .handler = [](const json&, ToolContext&) -> Result<ToolResult> {
        std::printf("printf noise on stdout\n");
        std::fflush(stdout);
        std::cout << "iostream noise on stdout" << std::endl;
        auto pid = para::spawn({.argv = {"/bin/echo", "child noise on stdout"}, .stdout_fd = 1});
        if (!pid) return para::fail(pid.error());
        if (auto st = para::wait_for(*pid, std::chrono::seconds(10)); !st)
          return para::fail(st.error());
        return ToolResult::text("made noise");
      }}));
  check(s.add_tool(
      Tool{.name = "test_all_types",
           .description = "Takes one field of every JSON type, for wrong-type tests",
           .input_schema = json::parse(R"({"type": "object", "additionalProperties": false,
        "required": ["s"],
        "properties": {
          "s": {"type": "string"}, "n": {"type": "number"}, "i": {"type": "integer"},
          "b": {"type": "boolean"}, "a": {"type": "array", "items": {"type": "string"}},
          "o": {"type": "object"}, "e": {"enum": ["x", "y"]},
          "v": {"oneOf": [{"type": "string"}, {"type": "boolean"}, {"type": "number"}]}}})"),
           .handler = [](const json& args, ToolContext&) -> Result<ToolResult> {
             return ToolResult::text("ok: " + args.dump());
           }}));
}

struct Flags {
  bool http = false;
  std::string host = "127.0.0.1";
  int port = 0;
  bool extra_tools = false;
  size_t page_size = 100;
  long idle_timeout = 1800;
  size_t max_sessions = 64;
  std::string auth_token;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "mcp-conformance-fixture: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--stdio") {
      f.http = false;
    } else if (a == "--http" && has_value) {
      std::string v = argv[++i];
      const size_t colon = v.rfind(':');
      if (colon != std::string::npos) {
        f.host = v.substr(0, colon);
        v = v.substr(colon + 1);
      }
      f.port = std::atoi(v.c_str());
      f.http = true;
    } else if (a == "--extra-tools") {
      f.extra_tools = true;
    } else if (a == "--page-size" && has_value) {
      f.page_size = static_cast<size_t>(std::atol(argv[++i]));
    } else if (a == "--idle-timeout" && has_value) {
      f.idle_timeout = std::atol(argv[++i]);
    } else if (a == "--max-sessions" && has_value) {
      f.max_sessions = static_cast<size_t>(std::atol(argv[++i]));
    } else if (a == "--auth-token" && has_value) {
      f.auth_token = argv[++i];
    } else {
      return usage("unknown or incomplete argument '" + a + "'");
    }
  }
  const auto protocol_fd = para::mcp::protect_stdout();
  if (!protocol_fd) return usage(protocol_fd.error().message);

  para::mcp::Server server({.name = "para-conformance-fixture",
                            .version = "1.0.0",
                            .instructions = "A fixture server for the MCP conformance suite."},
                           {.page_size = f.page_size});
  try {
    add_conformance_tools(server);
    add_conformance_resources(server);
    add_conformance_prompts(server);
    if (f.extra_tools) add_extra_tools(server);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcp-conformance-fixture: %s\n", e.what());
    return 1;
  }
  if (!f.http) return para::mcp::serve_stdio(server, STDIN_FILENO, *protocol_fd) ? 0 : 1;

  para::mcp::HttpTransport transport(
      server, {.host = f.host,
               .port = f.port,
               .auth_token = f.auth_token,
               .max_sessions = f.max_sessions,
               .session_idle_timeout = std::chrono::seconds(f.idle_timeout)});
  auto port = transport.bind();
  if (!port) return usage(port.error().message);
  std::fprintf(stderr, "mcp-conformance-fixture: listening on %s\n", transport.url().c_str());
  std::fflush(stderr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &transport] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) transport.stop();
  }).detach();
  return transport.run() ? 0 : 1;
}
