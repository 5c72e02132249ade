#pragma once

// A blocking client for the Docker Engine API (cpp-httplib 0.11.4) over the
// daemon's Unix socket or tcp:// with TLS.
//
// Signals: with TLS, OpenSSL writes with write(2), so a daemon that closed
// the connection raises SIGPIPE: the process must ignore SIGPIPE (para's
// executables do, in main).
//
// Threading: a Client is a small copyable value (endpoint, options, the
// negotiated API version). Every request opens its own connection, so one
// Client may be used from several threads at once; e.g. one thread follows a
// container's logs while another waits for it to exit. Never call it from a
// libuv callback: every call blocks.
//
// Versions: connect() pings /_ping and uses the daemon's API-Version, capped
// at kMaxApiVersion; a daemon below kMinApiVersion is refused with a message
// that says so. DOCKER_API_VERSION (or Options::api_version) pins a version
// instead, as the docker CLI does. Tested against API 1.41 (Debian 12's
// docker.io 20.10); the endpoints and fields used here are unchanged up to
// kMaxApiVersion.
//
// Errors: a failed transport maps to unavailable (daemon not running, with how
// to start it), denied (no permission on the socket: run as root or join the
// docker group), timeout, or tool_failed (TLS problems, a connection that
// broke). A non-2xx answer becomes an Error through http_error(). Every error
// text built from a response is passed through redact() with the request's
// secrets.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "docker/endpoint.h"

namespace para::docker {

inline constexpr const char* kMinApiVersion = "1.40";
inline constexpr const char* kMaxApiVersion = "1.47";

/// Orders "1.41" < "1.47" numerically. Non-numbers compare as 0.0.
int compare_api_versions(std::string_view a, std::string_view b);

/// Writes the next bytes of a streamed request body; an error stops the upload.
using BodyWrite = std::function<Result<void>(std::string_view bytes)>;

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // "/containers/create": the client adds "/v<version>"
  std::vector<std::pair<std::string, std::string>> query;  // encoded by the client
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;          // sent as is (with content_type)
  std::string content_type;  // "application/json", "application/x-tar"
  /// Streams the body with chunked encoding instead of `body`: called once,
  /// writes everything through the BodyWrite it is given.
  std::function<Result<void>(const BodyWrite& write)> body_writer;
  /// Longest silence while reading the answer; nullopt = Options::read_timeout.
  std::optional<std::chrono::milliseconds> read_timeout;
  /// Values to redact from any error text this request produces.
  std::vector<std::string> secrets;
  bool versioned = true;  // false only for /_ping
};

struct HttpResponse {
  int status = 0;
  std::string body;  // the whole body, or for stream() the body of a non-2xx answer
  std::multimap<std::string, std::string> headers;
  bool stopped = false;  // stream(): the receiver asked to stop early
  bool ok() const { return status >= 200 && status < 300; }
  /// A header's value (case-insensitive name), or "".
  std::string header(std::string_view name) const;
};

class Client {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(2)};
    std::chrono::milliseconds read_timeout{std::chrono::seconds(60)};
    std::string api_version;  // pin instead of negotiating; "" = DOCKER_API_VERSION or negotiate
  };

  /// Pings the daemon and negotiates the API version. Errors: unavailable,
  /// denied, timeout, tool_failed (see the file comment).
  static Result<Client> connect(const Endpoint& endpoint, const Options& options);
  static Result<Client> connect(const Endpoint& endpoint) { return connect(endpoint, Options{}); }
  /// connect() to the endpoint that DOCKER_HOST & co. describe.
  static Result<Client> from_env(const Options& options);
  static Result<Client> from_env() { return from_env(Options{}); }

  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& api_version() const { return api_version_; }
  const std::string& daemon_api_version() const { return daemon_api_version_; }
  /// tcp:// engines: files travel through the archive endpoints, not bind mounts.
  bool remote() const { return endpoint_.remote(); }

  /// One request; the whole answer in memory (any status). Errors: transport
  /// failures only; check HttpResponse::ok() or use call_ok().
  Result<HttpResponse> call(const HttpRequest& request) const;
  /// call(), and a non-2xx answer becomes http_error(what, ...).
  Result<HttpResponse> call_ok(const HttpRequest& request, const std::string& what) const;
  /// One request whose 2xx body is handed to on_data as it arrives (return
  /// false to stop: HttpResponse::stopped). A non-2xx body is collected in
  /// HttpResponse::body instead. Errors: transport failures, and an error
  /// returned by the request's body_writer.
  Result<HttpResponse> stream(const HttpRequest& request,
                              const std::function<bool(std::string_view)>& on_data) const;

  /// The Error for a non-2xx answer: "<what> failed: <daemon message>",
  /// redacted. 400 invalid_argument, 401/403 denied, 404 not_found,
  /// 409 conflict, anything else tool_failed.
  static Error http_error(const std::string& what, const HttpResponse& response,
                          const std::vector<std::string>& secrets = {});
  /// The daemon's "message" from an error body (or the start of the body). Not redacted.
  static std::string daemon_message(const HttpResponse& response);

 private:
  Client(Endpoint endpoint, Options options) : endpoint_(std::move(endpoint)), options_(options) {}
  Result<HttpResponse> send(const HttpRequest& request,
                            const std::function<bool(std::string_view)>* on_data) const;

  Endpoint endpoint_;
  Options options_;
  std::string api_version_;
  std::string daemon_api_version_;
};

struct EngineVersion {
  std::string version;      // "20.10.24+dfsg1"
  std::string api_version;  // the daemon's newest API version
  std::string os, arch;     // "linux", "amd64"
};

/// GET /version. Errors: transport, tool_failed (an answer that is not JSON).
Result<EngineVersion> engine_version(const Client& client);

/// value.dump(), or invalid_argument "<what>: ... not valid UTF-8" when a
/// string in it is not UTF-8 (nlohmann would throw). Never includes the text.
Result<std::string> json_text(const nlohmann::json& value, const std::string& what);

/// Percent-encodes a query value (everything but unreserved characters).
std::string url_encode(std::string_view value);

}  // namespace para::docker
