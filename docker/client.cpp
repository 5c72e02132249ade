#include "docker/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "core/fd.h"
#include "core/fs.h"
#include "core/log.h"
#include "docker/http.h"
#include "docker/redact.h"

namespace para::docker {
namespace {

constexpr size_t kMaxErrorBody = size_t(64) << 10;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool valid_version(std::string_view v) {
  const size_t dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return false;
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
         std::count(v.begin(), v.end(), '.') == 1;
}

// The Host header: cpp-httplib would send the socket path for AF_UNIX, and
// Docker's Go server answers "400 malformed Host header" to a '/'.
std::string host_header(const Endpoint& ep) {
  if (ep.kind == Endpoint::Kind::unix_socket) return "localhost";
  const bool v6 = ep.host.find(':') != std::string::npos;
  return (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
}

Error permission_denied(const Endpoint& ep, int err) {
  return fail(Errc::denied,
              "permission denied on " + ep.socket_path +
                  ": run para as root or add your user to the docker group "
                  "(sudo usermod -aG docker $USER, then log in again)",
              err);
}

// Why a connection failed, found by connecting ourselves (cpp-httplib keeps
// no errno): the messages say what to do.
Error diagnose_connect(const Endpoint& ep) {
  const std::string where = ep.display();
  if (ep.kind == Endpoint::Kind::unix_socket) {
    struct stat st {};
    if (::stat(ep.socket_path.c_str(), &st) != 0) {
      const int err = errno;
      if (err == EACCES) {
        return permission_denied(ep, err);
      }
      return fail(Errc::unavailable,
                  "the Docker daemon is not running: " + ep.socket_path +
                      " does not exist. Start it (sudo systemctl start docker, or sudo dockerd) "
                      "or point DOCKER_HOST at a running daemon",
                  err);
    }
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (ep.socket_path.size() >= sizeof(addr.sun_path)) {
      return fail(Errc::invalid_argument, "the socket path " + ep.socket_path + " is too long");
    }
    std::memcpy(addr.sun_path, ep.socket_path.c_str(), ep.socket_path.size() + 1);
    if (fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      if (err == EACCES || err == EPERM) {
        return permission_denied(ep, err);
      }
      if (err == ECONNREFUSED) {
        return fail(Errc::unavailable,
                    "the Docker daemon is not running: nothing accepts connections on " +
                        ep.socket_path +
                        ". Start it (sudo systemctl start docker, or sudo dockerd)",
                    err);
      }
      return fail(Errc::unavailable, "cannot connect to " + where + ": " + std::strerror(err), err);
    }
    if (!S_ISSOCK(st.st_mode)) {
      return fail(Errc::unavailable, ep.socket_path + " is not a socket: check DOCKER_HOST");
    }
    return fail(Errc::unavailable, "cannot connect to the Docker daemon at " + where);
  }
  return fail(Errc::unavailable,
              "cannot connect to the Docker daemon at " + where +
                  ": connection refused or unreachable. Is dockerd listening there (-H " + where +
                  ")?");
}

Error transport_error(const Endpoint& ep, const HttpOutcome& outcome, const std::string& what,
                      std::chrono::milliseconds read_timeout) {
  const std::string where = ep.display();
  switch (outcome.failure) {
    case HttpFailure::bad_client_cert:
      return fail(Errc::invalid_argument, "cannot load the TLS client certificate " +
                                              ep.client_cert + " and key " + ep.client_key);
    case HttpFailure::connection:
      return diagnose_connect(ep);
    case HttpFailure::connection_timeout:
      return fail(Errc::timeout, "no answer from the Docker daemon at " + where +
                                     " while connecting (" + what + ")");
    case HttpFailure::ssl_connection:
      return fail(Errc::tool_failed,
                  "the TLS handshake with " + where +
                      " failed: the daemon may not speak TLS there, or it refused our client "
                      "certificate (" +
                      (ep.client_cert.empty() ? "none" : ep.client_cert) +
                      "); check DOCKER_CERT_PATH");
    case HttpFailure::ssl_server_verification:
      return fail(Errc::denied, "the Docker daemon's TLS certificate at " + where +
                                    " is not trusted: it must be signed by " + ep.ca_cert +
                                    " and name " + ep.host);
    case HttpFailure::ssl_loading_certs:
      return fail(Errc::invalid_argument, "cannot load the CA certificate " + ep.ca_cert);
    case HttpFailure::read:
      return fail(Errc::tool_failed,
                  "the Docker daemon at " + where + " closed the connection or sent nothing for " +
                      std::to_string(read_timeout.count() / 1000) + " s (" + what + ")");
    case HttpFailure::write:
      return fail(Errc::tool_failed,
                  "sending to the Docker daemon at " + where + " failed (" + what + ")");
    case HttpFailure::canceled:
      return fail(Errc::tool_failed, what + " was stopped");
    default:
      return fail(Errc::tool_failed, what + " failed: " + outcome.detail);
  }
}

// Percent-encodes every byte except ASCII letters, digits, "-_.~" and `keep`.
std::string percent_encode(std::string_view value, std::string_view keep) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Path characters kept as they are: image names carry '/' and ':'.
std::string encode_path(std::string_view path) {
  return percent_encode(path, "/:@");
}

}  // namespace

std::string Client::daemon_message(const HttpResponse& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    auto m = j.find("message");
    if (m != j.end() && m->is_string()) return m->get<std::string>();
  }
  std::string text = r.body.substr(0, 500);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "HTTP " + std::to_string(r.status) : text;
}

int compare_api_versions(std::string_view a, std::string_view b) {
  const auto parse = [](std::string_view v) {
    int major = 0, minor = 0;
    const size_t dot = v.find('.');
    for (char c : v.substr(0, dot)) major = (c >= '0' && c <= '9') ? major * 10 + (c - '0') : 0;
    if (dot != std::string_view::npos) {
      for (char c : v.substr(dot + 1)) minor = (c >= '0' && c <= '9') ? minor * 10 + (c - '0') : 0;
    }
    return std::pair{major, minor};
  };
  const auto pa = parse(a), pb = parse(b);
  return pa < pb ? -1 : (pb < pa ? 1 : 0);
}

Result<EngineVersion> engine_version(const Client& client) {
  HttpRequest req;
  req.path = "/version";
  Result<HttpResponse> r = client.call_ok(req, "version");
  if (!r) return fail(r.error());
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object()) return fail(Errc::tool_failed, "version: the answer is not JSON");
  const auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return EngineVersion{str("Version"), str("ApiVersion"), str("Os"), str("Arch")};
}

Result<std::string> json_text(const nlohmann::json& value, const std::string& what) {
  try {
    return value.dump();
  } catch (const nlohmann::json::type_error&) {
    return fail(Errc::invalid_argument, what + ": a value is not valid UTF-8 text");
  }
}

std::string url_encode(std::string_view value) {
  return percent_encode(value, "");
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

Error Client::http_error(const std::string& what, const HttpResponse& response,
                         const std::vector<std::string>& secrets) {
  Errc code = Errc::tool_failed;
  switch (response.status) {
    case 400:
      code = Errc::invalid_argument;
      break;
    case 401:
    case 403:
      code = Errc::denied;
      break;
    case 404:
      code = Errc::not_found;
      break;
    case 409:
      code = Errc::conflict;
      break;
    default:
      break;
  }
  return fail(code, redact(what + " failed: " + Client::daemon_message(response), secrets));
}

Result<Client> Client::from_env(const Options& options) {
  Result<Endpoint> ep = endpoint_from_env(process_env(), home_directory());
  if (!ep) return fail(ep.error());
  Options o = options;
  if (o.api_version.empty()) {
    if (const char* pinned = std::getenv("DOCKER_API_VERSION"); pinned && *pinned) {
      o.api_version = pinned;
    }
  }
  return connect(*ep, o);
}

Result<Client> Client::connect(const Endpoint& endpoint, const Options& options) {
  if (!options.api_version.empty() && !valid_version(options.api_version)) {
    return fail(Errc::invalid_argument,
                "API version '" + options.api_version + "' is not of the form 1.41");
  }
  if (endpoint.insecure()) {
    log::warn("docker") << "DOCKER_HOST=" << endpoint.display()
                        << " without TLS: the Docker API is unauthenticated and unencrypted there "
                           "(set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to use TLS)";
  }
  Client client(endpoint, options);
  HttpRequest ping;
  ping.path = "/_ping";
  ping.versioned = false;
  Result<HttpResponse> r = client.call(ping);
  if (!r) {
    Error e = r.error();
    // With TLS 1.3 a refused client certificate shows up as a closed
    // connection after the handshake, not as a handshake failure.
    if (endpoint.tls && e.code == Errc::tool_failed) {
      e.message += endpoint.client_cert.empty()
                       ? ". The daemon probably requires a client certificate: put cert.pem and "
                         "key.pem in DOCKER_CERT_PATH"
                       : ". The daemon may have refused the client certificate " +
                             endpoint.client_cert + " (TLS)";
    }
    return fail(e);
  }
  if (!r->ok()) return fail(http_error("ping " + endpoint.display(), *r));
  client.daemon_api_version_ = r->header("API-Version");
  if (!options.api_version.empty()) {
    client.api_version_ = options.api_version;
  } else {
    if (!valid_version(client.daemon_api_version_)) {
      return fail(Errc::unavailable, "the Docker daemon at " + endpoint.display() +
                                         " did not say which API version it speaks; it is too "
                                         "old for para (API " +
                                         kMinApiVersion + " or newer is needed)");
    }
    if (compare_api_versions(client.daemon_api_version_, kMinApiVersion) < 0) {
      return fail(Errc::unavailable, "the Docker daemon at " + endpoint.display() + " speaks API " +
                                         client.daemon_api_version_ + ", older than " +
                                         kMinApiVersion +
                                         ", the oldest para supports: upgrade Docker (19.03 "
                                         "or newer)");
    }
    client.api_version_ = compare_api_versions(client.daemon_api_version_, kMaxApiVersion) > 0
                              ? kMaxApiVersion
                              : client.daemon_api_version_;
  }
  log::debug("docker") << "connected to " << endpoint.display() << ", API " << client.api_version_
                       << " (daemon " << client.daemon_api_version_ << ")";
  return client;
}

Result<HttpResponse> Client::call(const HttpRequest& request) const {
  return send(request, nullptr);
}

Result<HttpResponse> Client::call_ok(const HttpRequest& request, const std::string& what) const {
  Result<HttpResponse> r = send(request, nullptr);
  if (!r) return r;
  if (!r->ok()) return fail(http_error(what, *r, request.secrets));
  return r;
}

Result<HttpResponse> Client::stream(const HttpRequest& request,
                                    const std::function<bool(std::string_view)>& on_data) const {
  return send(request, &on_data);
}

Result<HttpResponse> Client::send(const HttpRequest& request,
                                  const std::function<bool(std::string_view)>* on_data) const {
  Result<const HttpModule*> http = http_module();
  if (!http) return fail(http.error());

  HttpExchange x;
  x.endpoint = endpoint_;
  x.connect_timeout = options_.connect_timeout;
  x.read_timeout = request.read_timeout.value_or(options_.read_timeout);
  x.host_header = host_header(endpoint_);
  x.method = request.method;
  x.target = request.versioned ? "/v" + api_version_ : "";
  x.target += encode_path(request.path);
  for (size_t i = 0; i < request.query.size(); ++i) {
    x.target += (i == 0 ? "?" : "&") + url_encode(request.query[i].first) + "=" +
                url_encode(request.query[i].second);
  }
  const std::string what = request.method + " " + request.path;
  // The path only: query values can hold build arguments, bodies hold secrets.
  log::debug("docker") << what;

  x.headers = request.headers;
  std::optional<Error> upload_error;
  if (!request.body.empty()) {
    x.body = request.body;
    x.headers.emplace_back(
        "Content-Type", request.content_type.empty() ? "application/json" : request.content_type);
  } else if (request.body_writer) {
    x.headers.emplace_back("Content-Type", request.content_type.empty() ? "application/octet-stream"
                                                                        : request.content_type);
    x.headers.emplace_back("Transfer-Encoding", "chunked");
    x.body_writer = [&](const std::function<bool(std::string_view)>& write) {
      Result<void> r = request.body_writer([&](std::string_view bytes) -> Result<void> {
        if (!write(bytes)) {
          return fail(Errc::tool_failed,
                      "the Docker daemon stopped reading the upload (" + what + ")");
        }
        return {};
      });
      if (!r) upload_error = r.error();
      return r.has_value();
    };
  }

  HttpResponse out;
  x.on_head = [&](int status, const std::multimap<std::string, std::string>& headers) {
    out.status = status;
    out.headers = headers;
  };
  x.on_data = [&](std::string_view data) {
    if (on_data != nullptr && out.ok()) {
      if (!(*on_data)(data)) {
        out.stopped = true;
        return false;
      }
      return true;
    }
    // A whole answer, or the error body of a stream: error bodies are kept bounded.
    if (on_data != nullptr && out.body.size() + data.size() > kMaxErrorBody) return true;
    out.body.append(data);
    return true;
  };

  const HttpOutcome outcome = (*http)->exchange(x);
  if (upload_error) return fail(*upload_error);
  if (outcome.failure != HttpFailure::none) {
    if (out.stopped) return out;
    Error e = transport_error(endpoint_, outcome, what, x.read_timeout);
    e.message = redact(e.message, request.secrets);
    return fail(e);
  }
  return out;
}

}  // namespace para::docker
