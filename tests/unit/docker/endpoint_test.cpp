#include "docker/endpoint.h"

#include <doctest/doctest.h>

#include <map>

#include "tests/support/support.h"

namespace para::docker {
TEST_SUITE("docker/endpoint") {
  TEST_CASE("without DOCKER_HOST the endpoint is the default Unix socket") {
    Result<Endpoint> ep = endpoint_from_env(map_env({}), "/home/u");
    REQUIRE(ep);
    CHECK(ep->kind == Endpoint::Kind::unix_socket);
    CHECK(ep->socket_path == "/var/run/docker.sock");
    CHECK(ep->display() == "unix:///var/run/docker.sock");
    CHECK_FALSE(ep->remote());
  }

  TEST_CASE("a unix:// DOCKER_HOST names the socket") {
    Result<Endpoint> ep =
        endpoint_from_env(map_env({{"DOCKER_HOST", "unix:///run/user/1000/docker.sock"}}), "/h");
    REQUIRE(ep);
    CHECK(ep->socket_path == "/run/user/1000/docker.sock");
  }

  TEST_CASE("tcp:// without TLS variables is plain, insecure and uses port 2375 by default") {
    Result<Endpoint> ep = endpoint_from_env(map_env({{"DOCKER_HOST", "tcp://127.0.0.1"}}), "/h");
    REQUIRE(ep);
    CHECK(ep->kind == Endpoint::Kind::tcp);
    CHECK(ep->host == "127.0.0.1");
    CHECK(ep->port == 2375);
    CHECK(ep->insecure());
    CHECK(ep->remote());
  }

  TEST_CASE("tcp:// with DOCKER_TLS_VERIFY uses the certificates in DOCKER_CERT_PATH") {
    test::TempDir certs;
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"}) test::write_text(certs / f, "x");
    Result<Endpoint> ep = endpoint_from_env(map_env({{"DOCKER_HOST", "tcp://[::1]:12376/"},
                                                     {"DOCKER_TLS_VERIFY", "1"},
                                                     {"DOCKER_CERT_PATH", certs.path()}}),
                                            "/h");
    REQUIRE(ep);
    CHECK(ep->host == "::1");
    CHECK(ep->port == 12376);
    CHECK(ep->tls);
    CHECK(ep->tls_verify);
    CHECK(ep->ca_cert == certs / "ca.pem");
    CHECK(ep->client_cert == certs / "cert.pem");
    CHECK(ep->client_key == certs / "key.pem");
    CHECK(ep->display() == "tcp://[::1]:12376");
    CHECK_FALSE(ep->insecure());
  }

  TEST_CASE("TLS verification without a CA file is an error naming the file") {
    test::TempDir certs;
    Result<Endpoint> ep = endpoint_from_env(map_env({{"DOCKER_HOST", "tcp://localhost:2376"},
                                                     {"DOCKER_TLS_VERIFY", "1"},
                                                     {"DOCKER_CERT_PATH", certs.path()}}),
                                            "/h");
    REQUIRE_FALSE(ep);
    CHECK(ep.error().code == Errc::not_found);
    CHECK(ep.error().message.find(certs / "ca.pem") != std::string::npos);
  }

  TEST_CASE("DOCKER_TLS alone means TLS without verifying the daemon, default port 2376") {
    test::TempDir home;
    Result<Endpoint> ep = endpoint_from_env(
        map_env({{"DOCKER_HOST", "tcp://example.internal"}, {"DOCKER_TLS", "1"}}), home.path());
    REQUIRE(ep);
    CHECK(ep->tls);
    CHECK_FALSE(ep->tls_verify);
    CHECK(ep->port == 2376);
    CHECK(ep->client_cert.empty());
  }

  TEST_CASE("unsupported or malformed DOCKER_HOST values are refused with a clear message") {
    for (const char* bad :
         {"ssh://me@host", "npipe:////./pipe/docker", "/var/run/docker.sock",
          "unix://relative/path", "tcp://:2375", "tcp://host:", "tcp://host:99999",
          "tcp://host:12a", "tcp://host:1/prefix", "tcp://[::1"}) {
      const std::string bad_text = bad;
      CAPTURE(bad_text);
      Result<Endpoint> ep = endpoint_from_env(map_env({{"DOCKER_HOST", bad}}), "/h");
      REQUIRE_FALSE(ep);
      CHECK(ep.error().code == Errc::invalid_argument);
      CHECK(ep.error().message.find("DOCKER_HOST") != std::string::npos);
    }
  }
}

}  // namespace para::docker
