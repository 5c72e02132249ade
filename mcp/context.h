#pragma once

// ToolContext: what a request handler (tool, resource reader, prompt) gets
// besides its arguments, to talk back to the client while it runs. Every
// method is thread-safe and safe to call after the client went away (it then
// does nothing, or fails).

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "mcp/types.h"

namespace para::mcp {

namespace detail {
struct RequestState;  // defined in session.cpp
}

class ToolContext {
 public:
  /// A context with no client behind it: progress and log do nothing, it is
  /// never cancelled and request() fails with Errc::unavailable. For calling
  /// handlers outside a session (unit tests, the CLI).
  ToolContext();
  explicit ToolContext(std::shared_ptr<detail::RequestState> state);

  /// notifications/progress for this request. A no-op when the request had
  /// no _meta.progressToken, after the response, or when `progress` is not
  /// greater than the last value sent (the spec requires it to increase).
  void progress(double progress, std::optional<double> total = {}, std::string message = {});

  /// notifications/message related to this request (streamed on the same
  /// HTTP response), sent only if `level` is at or above the level the client
  /// set with logging/setLevel. Never put secrets in `data`.
  void log(LogLevel level, const nlohmann::json& data, std::string logger = {});

  /// Whether the client sent notifications/cancelled for this request (or
  /// closed the session). The response of a cancelled request is dropped.
  bool cancelled() const;

  /// Sleeps up to `timeout`, waking early on cancellation. Returns
  /// cancelled(). The way for polling loops (para_wait) to stay responsive.
  bool wait_cancelled(std::chrono::milliseconds timeout) const;

  /// A server->client request related to this one (sampling/createMessage,
  /// elicitation/create, roots/list), sent on this request's stream; blocks
  /// for the client's answer. Errors: unavailable (no client, or the client
  /// did not declare the capability), timeout (then the client gets
  /// notifications/cancelled), tool_failed (the client answered with an
  /// error; the message says which), conflict (this request was cancelled).
  Result<nlohmann::json> request(const std::string& method, nlohmann::json params,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// The client's declared capabilities, clientInfo, and the negotiated
  /// protocol version (empty/null without a session).
  nlohmann::json client_capabilities() const;
  nlohmann::json client_info() const;
  std::string protocol_version() const;
  /// The request's params._meta (null when absent).
  const nlohmann::json& meta() const;

  /// Streamable HTTP only (SEP-1699): ends the HTTP response carrying this
  /// request's SSE stream; the client reconnects with Last-Event-ID and
  /// receives the rest. A no-op on stdio.
  void close_sse_stream();

 private:
  std::shared_ptr<detail::RequestState> state_;
};

}  // namespace para::mcp
