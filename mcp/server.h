#pragma once

// The MCP server core: registries of tools, resources, resource templates
// and prompts (registration order = list order), the protocol versions, the
// worker pool, and the live sessions. No I/O: transports create a Session per
// client connection (mcp/session.h) and feed it messages.
//
// Registering (the para tools do this in mcp/tools/):
//
//   para::mcp::Server server({.name = "para-mcp-server", .version = "0.1.0",
//                             .instructions = "How to use para ..."});
//   auto r = server.add_tool({
//       .name = "para_list", .description = "List sessions",
//       .input_schema = schemas::get("tools/para_list.input"),
//       .output_schema = schemas::get("tools/para_list.output"),
//       .annotations = {{"readOnlyHint", true}},
//       .handler = [](const json& args, ToolContext& ctx) -> Result<ToolResult> {...}});
//
// What the server guarantees around a tool handler:
// - `arguments` (an object; {} when absent) were validated against
//   input_schema; a violation is an isError result listing every problem by
//   field ("arguments.name: expected string, got number"), per SEP-1303, and
//   the handler is not called.
// - An unknown tool, or `arguments` that is not an object, is JSON-RPC -32602.
// - The handler runs on a worker thread; ping and notifications/cancelled are
//   served meanwhile.
// - An Error from the handler becomes isError with the error's message; an
//   exception becomes isError "internal error" and is logged.
// - With an output_schema and a successful result, `structured` must be
//   present and valid: otherwise the call fails with JSON-RPC -32603 (a bug in
//   the tool, logged), so tests catch it.

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mcp/context.h"
#include "mcp/types.h"
#include "mcp/worker_pool.h"

namespace para::mcp {

class Outbound;
class Session;

/// Protocol versions we speak, latest first: 2025-11-25, 2025-06-18, 2025-03-26.
const std::vector<std::string>& supported_protocol_versions();
inline constexpr const char* kLatestProtocolVersion = "2025-11-25";
bool is_supported_protocol_version(std::string_view version);

struct ServerInfo {
  std::string name = "para-mcp-server";
  std::string version = "0.0.0";
  std::string title;
  /// The initialize result's `instructions`: how a model should use us.
  std::string instructions;
};

struct ServerOptions {
  size_t page_size = 100;                       // items per tools/list etc. page
  size_t max_concurrent_requests = 32;          // worker threads for handlers
  size_t max_queued_requests = 1024;            // beyond this: -32603 "busy"
  LogLevel default_log_level = LogLevel::info;  // until logging/setLevel
};

class Server {
 public:
  explicit Server(ServerInfo info, ServerOptions options = {});
  /// Waits for running handlers. Close sessions (Session::close) first so
  /// that long handlers see cancelled(); transports must be gone.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Registration. Errors: invalid_argument (bad name, schema not an object
  /// schema, bad URI template, missing handler), already_exists. Allowed at
  /// any time; live sessions get the matching list_changed notification.
  Result<void> add_tool(Tool tool);
  Result<void> add_resource(Resource resource);
  Result<void> add_resource_template(ResourceTemplate resource_template);
  Result<void> add_prompt(Prompt prompt);
  /// Removes a tool by name; false if there was none.
  bool remove_tool(const std::string& name);

  void set_instructions(std::string instructions);

  /// A session for one client connection. `standalone` receives messages
  /// not related to a request (resources/updated, list_changed, Session::log).
  std::shared_ptr<Session> create_session(std::shared_ptr<Outbound> standalone);

  /// notifications/resources/updated to every session subscribed to `uri`
  /// or to a resource below it (para://sessions/NAME when para://sessions
  /// changed), one per subscribed URI.
  void notify_resource_updated(const std::string& uri);
  /// notifications/resources/list_changed to every session: what a resource
  /// template's list() returns changed (the set of registrations did not).
  void notify_resource_list_changed();
  /// notifications/message to every initialized session whose level admits it.
  void log(LogLevel level, const nlohmann::json& data, const std::string& logger = {});

  ServerInfo info() const;
  const ServerOptions& options() const { return options_; }
  std::vector<std::shared_ptr<const Tool>> tools() const;
  std::vector<std::shared_ptr<const Resource>> resources() const;
  std::vector<std::shared_ptr<const ResourceTemplate>> resource_templates() const;
  std::vector<std::shared_ptr<const Prompt>> prompts() const;
  std::shared_ptr<const Tool> find_tool(const std::string& name) const;
  /// tools/list's result for its first page, serialized once per set of
  /// tools (their schemas make it tens of KB): `build` makes it when the
  /// tools changed since. Thread-safe.
  std::shared_ptr<const std::string> tools_list_result(const std::function<std::string()>& build);
  std::shared_ptr<const Prompt> find_prompt(const std::string& name) const;

 private:
  friend class Session;
  void broadcast(const std::string& method, const nlohmann::json& params);
  std::vector<std::shared_ptr<Session>> live_sessions();
  bool submit(std::function<void()> job) { return pool_.submit(std::move(job)); }

  mutable std::shared_mutex mutex_;
  ServerInfo info_;
  const ServerOptions options_;
  std::vector<std::shared_ptr<const Tool>> tools_;
  uint64_t tools_generation_ = 0;  // bumped by every change to tools_
  uint64_t tools_list_generation_ = 0;
  std::shared_ptr<const std::string> tools_list_result_;  // for tools_list_generation_
  std::vector<std::shared_ptr<const Resource>> resources_;
  std::vector<std::shared_ptr<const ResourceTemplate>> templates_;
  std::vector<std::shared_ptr<const Prompt>> prompts_;
  std::mutex sessions_mutex_;
  std::vector<std::weak_ptr<Session>> sessions_;
  WorkerPool pool_;  // last: destroyed (joined) first, while the rest is alive
};

}  // namespace para::mcp
