#pragma once

// The HTTP exchange under docker::Client, kept apart so that cpp-httplib
// (and the OpenSSL it loads and initialises, about 3 ms per process start)
// is loaded only by the processes that talk to Docker.
//
// http_httplib.cpp implements it. It is built twice: as the shared module
// libpara-docker-http.so, which para loads with dlopen on its first Docker
// request, and as the static library docker_http_linked_dep, which the
// executables that always link cpp-httplib anyway (para-mcp-server, tests)
// link in; a linked copy is found first (a weak reference), so those never
// dlopen.
//
// ABI: both sides are built from one tree by one compiler, so the types are
// ordinary C++; kHttpAbi changes whenever HttpExchange or HttpOutcome do.
// The module uses nothing from para's other libraries.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker/endpoint.h"

namespace para::docker {

inline constexpr uint32_t kHttpAbi = 1;

/// Why an exchange failed (cpp-httplib's error, in para's words).
enum class HttpFailure {
  none,
  bad_client_cert,  // the TLS client certificate or key cannot be loaded
  connection,
  connection_timeout,
  ssl_connection,
  ssl_server_verification,
  ssl_loading_certs,
  read,
  write,
  canceled,  // on_data or body_writer asked to stop
  other,
};

struct HttpExchange {
  Endpoint endpoint;
  std::chrono::milliseconds connect_timeout{2000}, read_timeout{60000};
  std::string host_header;  // sent as Host
  std::string method;
  std::string target;  // path and query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Streams the body with chunked encoding instead of `body`: called once;
  /// `write` returns false when the daemon stopped reading. Return false to abort.
  std::function<bool(const std::function<bool(std::string_view)>& write)> body_writer;
  /// The status line and headers, before any body; called once per answer.
  std::function<void(int status, const std::multimap<std::string, std::string>& headers)> on_head;
  /// Each piece of the body; return false to stop (then the failure is canceled).
  std::function<bool(std::string_view)> on_data;
};

struct HttpOutcome {
  HttpFailure failure = HttpFailure::none;
  std::string detail;  // the library's own words, for HttpFailure::other
};

struct HttpModule {
  uint32_t abi = kHttpAbi;
  HttpOutcome (*exchange)(const HttpExchange& exchange) = nullptr;
};

/// The implementation: the linked copy if this executable has one, else the
/// module loaded from beside the executable or from para's library directory.
/// Errors: unavailable (the module is missing or from another build), saying
/// to reinstall para.
Result<const HttpModule*> http_module();

}  // namespace para::docker

/// Exported by http_httplib.cpp under this unmangled name, in both builds.
extern "C" const para::docker::HttpModule* para_docker_http_v1();
