#pragma once

// Minimal MCP clients for integration tests: they drive a built server
// (para-mcp-server or the conformance fixture) over real pipes or real
// loopback HTTP, at the wire level, so that tests can send anything,
// including garbage. Not thread-safe unless noted.

#include <httplib.h>
#include <sys/types.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace para::test {

using nlohmann::json;

json initialize_params(const std::string& version = "2025-11-25",
                       json capabilities = json::object());

/// A server process speaking MCP on its stdin/stdout.
class StdioClient {
 public:
  explicit StdioClient(const std::vector<std::string>& argv);
  ~StdioClient();
  StdioClient(const StdioClient&) = delete;
  StdioClient& operator=(const StdioClient&) = delete;

  void send_raw(const std::string& bytes);
  void send(const json& message);
  /// The next stdout line, parsed. Fails the test (CHECK) if a line is not
  /// JSON. nullopt on timeout or EOF.
  std::optional<json> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends a request with a fresh id and returns its response; messages
  /// read meanwhile are appended to `others`.
  json request(const std::string& method, json params = json::object(),
               std::vector<json>* others = nullptr);
  /// initialize + notifications/initialized; returns the initialize result.
  json initialize(json capabilities = json::object());
  /// Closes stdin and waits for the exit status (kills after `timeout`).
  int close_and_wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends SIGTERM, stdin left open, and waits as close_and_wait().
  int terminate_and_wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int next_id() { return ++last_id_; }

 private:
  int terminate_and_wait(std::chrono::milliseconds timeout, bool signal);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
  int last_id_ = 100;
};

/// A server process listening on Streamable HTTP (started with --http
/// 127.0.0.1:0), plus a client for it.
class ServerProcess {
 public:
  /// `env`: extra "K=V" entries on top of this process's environment.
  explicit ServerProcess(std::vector<std::string> argv, const std::vector<std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string session_id;
  std::string body;
  std::vector<json> messages;          // the JSON body, or each SSE data event
  std::vector<std::string> event_ids;  // SSE ids, in order ("" when absent)
  bool has_retry = false;              // an SSE retry: field was seen
  httplib::Headers headers;
};

/// Splits an SSE body into events.
void parse_sse(const std::string& body, HttpResult& out);

class HttpClient {
 public:
  explicit HttpClient(int port);
  /// POST one body to /mcp with the MCP headers (Content-Type, Accept,
  /// Mcp-Session-Id when known, MCP-Protocol-Version) plus `extra`, which
  /// overrides them (an empty value removes a header).
  HttpResult post(const std::string& body, const httplib::Headers& extra = {});
  HttpResult post(const json& message, const httplib::Headers& extra = {}) {
    return post(message.dump(), extra);
  }
  HttpResult del(const httplib::Headers& extra = {});
  /// A GET with a bounded read: collects events until `until` returns true
  /// or `timeout` passes.
  HttpResult get(const httplib::Headers& extra, std::chrono::milliseconds timeout,
                 const std::function<bool(const HttpResult&)>& until = nullptr);
  /// initialize (stores the session id) + notifications/initialized.
  json initialize(json capabilities = json::object());
  /// A request with a fresh id; returns its response (the last message).
  json request(const std::string& method, json params = json::object(),
               std::vector<json>* others = nullptr);

  std::string session_id;
  std::string protocol_version = "2025-11-25";
  int next_id() { return ++last_id_; }

 private:
  httplib::Headers headers(const httplib::Headers& extra, bool post) const;
  int port_;
  int last_id_ = 100;
};

/// One way to call a server: (method, params) -> response.
using Caller = std::function<json(const std::string&, const json&)>;

/// The generic bad-argument driver: for every tool of tools/list (every
/// page) and every property of its inputSchema, calls the tool with that
/// property set to each JSON value of a wrong type (the other required
/// properties valid) and CHECKs that the answer is an isError result whose
/// text names "arguments.<property>". Returns how many calls it made.
int check_wrong_argument_types(const Caller& call);

}  // namespace para::test
