#pragma once

// The Streamable HTTP transport (MCP 2025-03-26 .. 2025-11-25) on
// cpp-httplib: one endpoint (/mcp) taking POST (one JSON-RPC message), GET
// (the standalone SSE stream, or a resumption with Last-Event-ID) and
// DELETE (end the session).
//
// - Sessions: initialize creates one and returns its Mcp-Session-Id (32
//   random hex characters); every later request must carry it (400 without,
//   404 for an unknown, expired or deleted one). Idle sessions (no request,
//   no open stream) expire; their number is capped (the least recently used
//   idle one is evicted, else 503).
// - Security, in this order: a client on this machine must run as this
//   user, outside sandboxes and containers (mcp/local_peer.h; unless
//   check_peers is off), else 403; Host must name the server (loopback
//   names, the bound address, --allowed-host) and Origin, when present, a
//   loopback or allowed origin, else 403 (DNS rebinding); then the bearer
//   token if one is configured, else 401.
// - POST: Content-Type application/json (else 415); Accept must admit
//   application/json and text/event-stream (else 406); MCP-Protocol-Version,
//   when present, must be a supported version (else 400); bodies over the
//   cap get 413. Notifications and responses get 202. A request answered
//   at once (ping, */list) gets a JSON body; one that runs on a worker gets
//   an SSE stream carrying its progress, logs and server->client requests,
//   then its response (a priming event with a retry field first, from
//   protocol 2025-11-25 on).
// - GET: the standalone stream (one per session, 409 for a second), with
//   SSE keep-alive comments; dead connections are noticed and released.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "mcp/server.h"

namespace para::mcp {

struct HttpOptions {
  std::string host = "127.0.0.1";  // an address to bind; loopback by default
  int port = 0;                    // 0 = any free port (see bind())
  std::string path = "/mcp";
  std::string auth_token;                    // empty = no authentication
  bool check_peers = true;                   // refuse local peers of other users/namespaces
  std::vector<std::string> allowed_origins;  // besides loopback origins
  std::vector<std::string> allowed_hosts;    // Host names besides loopback ones
  size_t max_message_bytes = size_t(4) << 20;
  size_t max_sessions = 64;
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::milliseconds keepalive_interval{15000};
  std::chrono::milliseconds retry_interval{1000};  // SSE "retry:" for reconnects
  size_t threads = 64;  // connections served at once (open SSE streams hold one)
  /// GET streams open at once; more get 503, so that the threads left
  /// always serve POSTs (requests, and streamed results such as para_wait).
  size_t max_get_streams = 40;
};

class HttpTransport {
 public:
  HttpTransport(Server& server, HttpOptions options);
  /// Stops (if running) and closes every session.
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  /// Binds the listening socket. Returns the port. Errors: io.
  Result<int> bind();
  /// Serves until stop(). Call after bind(). Errors: io.
  Result<void> run();
  /// Thread-safe; run() returns soon after.
  void stop();

  /// "http://127.0.0.1:<port>/mcp" once bound.
  std::string url() const;
  size_t session_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace para::mcp
