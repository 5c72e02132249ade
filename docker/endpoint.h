#pragma once

// Where the Docker Engine is: DOCKER_HOST and the TLS variables, read the way
// the docker CLI reads them.
//
//   DOCKER_HOST        unix:///path (default unix:///var/run/docker.sock) or
//                      tcp://host:port (port default 2376 with TLS, 2375 without)
//   DOCKER_TLS_VERIFY  non-empty: TLS, and the daemon's certificate must chain
//                      to $DOCKER_CERT_PATH/ca.pem and name the host
//   DOCKER_TLS         non-empty: TLS with client certificates, server not verified
//   DOCKER_CERT_PATH   ca.pem, cert.pem, key.pem (default ~/.docker)
//
// A tcp:// endpoint without any TLS variable is plain HTTP: allowed, because
// the docker CLI allows it, but marked insecure and warned about by the client.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"

namespace para::docker {

inline constexpr const char* kDefaultSocket = "/var/run/docker.sock";

struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string socket_path = kDefaultSocket;  // unix_socket
  std::string host;                          // tcp: name or address, no brackets
  int port = 0;                              // tcp
  bool tls = false;
  bool tls_verify = false;                       // check the daemon's certificate against ca_cert
  std::string ca_cert, client_cert, client_key;  // paths; empty = not used

  /// True for tcp:// endpoints: bind mounts name paths on the daemon's host,
  /// not ours, so files travel through the archive endpoints instead.
  bool remote() const { return kind == Kind::tcp; }
  /// tcp without TLS: anyone who reaches the port controls the daemon.
  bool insecure() const { return kind == Kind::tcp && !tls; }
  /// "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2376".
  std::string display() const;
};

/// Looks a variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The lookup over this process's environment.
EnvLookup process_env();
/// A lookup over fixed values (tests, and callers that pass an environment on).
EnvLookup map_env(std::map<std::string, std::string> vars);

/// The endpoint described by DOCKER_HOST and the TLS variables. `home` is the
/// default parent of .docker/ for certificates. Errors: invalid_argument (a
/// DOCKER_HOST that is not unix:// or tcp://, a bad port), not_found (TLS asked
/// for and a certificate file is missing; the message names the file). Pure
/// apart from checking that certificate files exist.
Result<Endpoint> endpoint_from_env(const EnvLookup& env, const std::string& home);

}  // namespace para::docker
