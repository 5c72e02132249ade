#include "docker/endpoint.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string_view>

namespace para::docker {
namespace {

bool is_set(const std::optional<std::string>& v) {
  return v.has_value() && !v->empty();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int> parse_port(std::string_view text, const std::string& docker_host) {
  if (text.empty() || text.size() > 5) {
    return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + " has no valid port");
  }
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail(Errc::invalid_argument,
                  "DOCKER_HOST=" + docker_host + " has a port that is not a number");
    }
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) {
    return fail(Errc::invalid_argument,
                "DOCKER_HOST=" + docker_host + " has a port outside 1-65535");
  }
  return port;
}

// tcp://host:port, tcp://[v6]:port, tcp://host (default port), optional "/".
Result<void> parse_tcp(std::string_view rest, const std::string& docker_host, Endpoint& ep) {
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return fail(Errc::invalid_argument,
                "DOCKER_HOST=" + docker_host + ": a path after host:port is not supported");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + ": unclosed '['");
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + ": expected ':port'");
      }
      port = after.substr(1);
      if (port.empty()) {
        return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + " has no valid port");
      }
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) {
      return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + " has no valid port");
    }
  }
  if (host.empty()) {
    return fail(Errc::invalid_argument, "DOCKER_HOST=" + docker_host + " has no host");
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    Result<int> p = parse_port(port, docker_host);
    if (!p) return fail(p.error());
    ep.port = *p;
  }
  return {};
}

}  // namespace

std::string Endpoint::display() const {
  if (kind == Kind::unix_socket) return "unix://" + socket_path;
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup map_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<Endpoint> endpoint_from_env(const EnvLookup& env, const std::string& home) {
  Endpoint ep;
  const std::optional<std::string> docker_host = env("DOCKER_HOST");
  if (is_set(docker_host)) {
    const std::string& dh = *docker_host;
    std::string_view v = dh;
    if (v.starts_with("unix://")) {
      v.remove_prefix(7);
      if (!v.empty()) {
        if (v[0] != '/') {
          return fail(Errc::invalid_argument,
                      "DOCKER_HOST=" + dh + ": the socket path must be absolute");
        }
        ep.socket_path = std::string(v);
      }
    } else if (v.starts_with("tcp://")) {
      ep.kind = Endpoint::Kind::tcp;
      if (Result<void> r = parse_tcp(v.substr(6), dh, ep); !r) return fail(r.error());
    } else {
      return fail(Errc::invalid_argument,
                  "DOCKER_HOST=" + dh +
                      " is not supported: para speaks to unix:///path and tcp://host:port "
                      "(with TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH)");
    }
  }
  if (ep.kind == Endpoint::Kind::unix_socket) return ep;

  ep.tls_verify = is_set(env("DOCKER_TLS_VERIFY"));
  ep.tls = ep.tls_verify || is_set(env("DOCKER_TLS"));
  if (ep.port == 0) ep.port = ep.tls ? 2376 : 2375;
  if (!ep.tls) return ep;

  const std::optional<std::string> cert_path = env("DOCKER_CERT_PATH");
  const std::string dir = is_set(cert_path) ? *cert_path : home + "/.docker";
  const std::string ca = dir + "/ca.pem", cert = dir + "/cert.pem", key = dir + "/key.pem";
  if (ep.tls_verify) {
    if (!file_exists(ca)) {
      return fail(Errc::not_found, "DOCKER_TLS_VERIFY is set but " + ca +
                                       " does not exist: set DOCKER_CERT_PATH to the "
                                       "directory with ca.pem, cert.pem and key.pem");
    }
    ep.ca_cert = ca;
  }
  const bool have_cert = file_exists(cert), have_key = file_exists(key);
  if (have_cert != have_key) {
    return fail(Errc::not_found, "TLS client certificate incomplete: " + (have_cert ? key : cert) +
                                     " does not exist (next to " + (have_cert ? cert : key) + ")");
  }
  if (have_cert) {
    ep.client_cert = cert;
    ep.client_key = key;
  }
  return ep;
}

}  // namespace para::docker
