#pragma once

// One client connection's protocol state machine: lifecycle and version
// negotiation, the method handler map, in-flight requests (progress,
// cancellation), logging level, resource subscriptions and server->client
// requests. No I/O of its own: it writes through Outbound objects the
// transport gives it. The TypeScript SDK's Protocol + Server.
//
// Threading: receive() may be called from any thread, concurrently. Cheap
// methods (ping, */list, logging/setLevel, resources/(un)subscribe) are
// answered before receive() returns; tools/call, resources/read,
// prompts/get and completion/complete run on the server's worker pool and
// answer later, from a worker thread.

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcp/jsonrpc.h"
#include "mcp/types.h"

namespace para::mcp {

class Server;

/// Where outgoing messages go; implemented by each transport. Thread-safe.
/// One Outbound per incoming request (its "stream"), plus one standalone
/// Outbound per session for messages not related to a request.
class Outbound {
 public:
  virtual ~Outbound() = default;
  /// A notification or server->client request (related to the request when
  /// this is a request's Outbound).
  virtual void send(const nlohmann::json& message) = 0;
  /// The end of a request's stream: its response, or nullopt when the
  /// request was cancelled and gets none. Called exactly once, last. Never
  /// called on a standalone Outbound.
  virtual void finish(std::optional<nlohmann::json> response) = 0;
  /// finish() with a successful response (a result) already serialized as
  /// one JSON-RPC message without a newline, for answers cached as text.
  /// Transports write it as is; the default parses it for finish().
  virtual void finish_text(std::string response) { finish(nlohmann::json::parse(response)); }
  /// SEP-1699: drop the connection carrying this stream (HTTP); no-op else.
  virtual void close_connection() {}
};

namespace detail {
struct RequestState;
struct PendingClientRequest;
}  // namespace detail

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, std::shared_ptr<Outbound> standalone);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Processes one parsed message from the client: a request (answered
  /// through `reply`), a notification or a response to a server->client
  /// request (`reply` unused, may be null). An invalid message is answered
  /// with a JSON-RPC error through `reply`.
  void receive(const nlohmann::json& message, std::shared_ptr<Outbound> reply);

  /// Synchronous form for tests and fuzzing: processes `message`, waits for
  /// the answer and returns it (nullopt for notifications, responses and
  /// cancelled requests). Messages the request sent before its response
  /// (progress, logs, server->client requests) are appended to `related`.
  std::optional<nlohmann::json> handle(const nlohmann::json& message,
                                       std::vector<nlohmann::json>* related = nullptr);

  /// A notification on the standalone channel.
  void notify(const std::string& method, nlohmann::json params);
  /// notifications/message on the standalone channel, if the level admits it.
  void log(LogLevel level, const nlohmann::json& data, const std::string& logger = {});
  /// Cancels in-flight requests, fails pending server->client requests;
  /// later requests get an error. Idempotent.
  void close();

  bool initialized() const;
  bool closed() const;
  std::string protocol_version() const;  // negotiated; empty before initialize
  nlohmann::json client_capabilities() const;
  nlohmann::json client_info() const;
  /// The subscribed URIs that a change of `uri` touches: `uri` itself and
  /// those below it ("para://sessions/x" when "para://sessions" changed).
  std::vector<std::string> subscriptions_touched_by(const std::string& uri) const;
  bool log_level_admits(LogLevel level) const;
  size_t in_flight() const;

 private:
  friend class Server;
  friend class ToolContext;
  using json = nlohmann::json;

  void on_request(const json& id, const std::string& method, const json& params,
                  const std::shared_ptr<Outbound>& reply);
  void on_notification(const std::string& method, const json& params);
  void on_response(const json& message);
  void run_async(const json& id, const std::string& method, const json& params,
                 const std::shared_ptr<Outbound>& reply);
  json dispatch_async(const json& id, const std::string& method, const json& params,
                      const std::shared_ptr<detail::RequestState>& state);
  void finish_request(const std::shared_ptr<detail::RequestState>& state, json response);

  json do_initialize(const json& id, const json& params);
  json do_set_level(const json& id, const json& params);
  json do_list(const json& id, const std::string& method, const json& params);
  /// tools/list without a cursor, from the server's cached text.
  std::string tools_list_text(const json& id);
  json do_subscribe(const json& id, const json& params, bool subscribe);
  json do_tools_call(const json& id, const json& params,
                     const std::shared_ptr<detail::RequestState>& state);
  json do_resources_read(const json& id, const json& params,
                         const std::shared_ptr<detail::RequestState>& state);
  json do_prompts_get(const json& id, const json& params,
                      const std::shared_ptr<detail::RequestState>& state);
  json do_complete(const json& id, const json& params);

  /// Server->client request on `via`; used by ToolContext::request.
  Result<json> client_request(const std::shared_ptr<detail::RequestState>& state,
                              const std::string& method, json params,
                              std::chrono::milliseconds timeout);

  Server& server_;
  const std::shared_ptr<Outbound> standalone_;
  mutable std::mutex mutex_;
  bool initialized_ = false;
  bool closed_ = false;
  std::string protocol_version_;
  json client_capabilities_ = json::object();
  json client_info_ = json::object();
  std::optional<LogLevel> log_level_;
  std::set<std::string> subscriptions_;
  std::map<std::string, std::shared_ptr<detail::RequestState>> in_flight_;  // key: id dump
  std::map<int64_t, std::shared_ptr<detail::PendingClientRequest>> pending_client_;
  int64_t next_client_request_id_ = 1;
};

}  // namespace para::mcp
