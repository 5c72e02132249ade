#include "docker/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <httplib.h>

#include <cstring>
#include <thread>

#include "core/fd.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"
#include "tests/support/support.h"

namespace para::docker {
namespace {

// A fake daemon on a Unix socket, for what a real dockerd cannot be made to
// do: speak an API version that is too old or newer than ours. It records
// the Host header and the paths it was asked for.
class FakeDaemon {
 public:
  explicit FakeDaemon(std::string api_version) : api_version_(std::move(api_version)) {
    socket_ = dir_ / "docker.sock";
    server_.set_address_family(AF_UNIX);
    server_.Get("/_ping", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_header("API-Version", api_version_);
      res.set_content("OK", "text/plain");
    });
    server_.Get(
        R"(/v[0-9.]+/version)", [this](const httplib::Request& req, httplib::Response& res) {
          record(req);
          res.set_content(R"({"ApiVersion":")" + api_version_ + R"("})", "application/json");
        });
    REQUIRE(server_.bind_to_port(socket_.c_str(), 80));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeDaemon() {
    server_.stop();
    thread_.join();
  }
  Endpoint endpoint() const {
    Endpoint ep;
    ep.socket_path = socket_;
    return ep;
  }
  std::vector<std::string> hosts, paths;

 private:
  void record(const httplib::Request& req) {
    hosts.push_back(req.get_header_value("Host"));
    paths.push_back(req.path);
  }
  para::test::TempDir dir_{"pfd"};
  std::string socket_, api_version_;
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace

TEST_SUITE("docker/client") {
  TEST_CASE("the client negotiates the daemon's API version and pings with Host: localhost") {
    const Client& client = test::test_client();
    CHECK(client.api_version() == client.daemon_api_version());  // 1.41 <= our maximum
    CHECK(compare_api_versions(client.api_version(), kMinApiVersion) >= 0);
    Result<EngineVersion> v = engine_version(client);
    REQUIRE(v);
    CHECK(v->api_version == client.daemon_api_version());
    CHECK(v->os == "linux");
    CHECK_FALSE(v->version.empty());
  }

  TEST_CASE("a newer daemon is spoken to at our highest version, with an explicit Host header") {
    FakeDaemon fake("1.99");
    Result<Client> client = Client::connect(fake.endpoint());
    REQUIRE(client);
    CHECK(client->api_version() == kMaxApiVersion);
    CHECK(client->daemon_api_version() == "1.99");
    REQUIRE(client->call_ok(HttpRequest{.path = "/version"}, "version"));
    REQUIRE(fake.paths.size() == 2);
    CHECK(fake.paths[1] == std::string("/v") + kMaxApiVersion + "/version");
    // cpp-httplib would send the socket path, which Docker rejects with 400.
    CHECK(fake.hosts == std::vector<std::string>{"localhost", "localhost"});
  }

  TEST_CASE("a daemon older than the minimum API version is refused with a clear message") {
    FakeDaemon fake("1.38");
    Result<Client> client = Client::connect(fake.endpoint());
    REQUIRE_FALSE(client);
    CHECK(client.error().code == Errc::unavailable);
    CHECK(client.error().message.find("speaks API 1.38, older than 1.40") != std::string::npos);
    CHECK(client.error().message.find("upgrade Docker") != std::string::npos);
  }

  TEST_CASE("a pinned API version is used as given") {
    FakeDaemon fake("1.41");
    Result<Client> client = Client::connect(fake.endpoint(), {.api_version = "1.40"});
    REQUIRE(client);
    CHECK(client->api_version() == "1.40");
    CHECK_FALSE(Client::connect(fake.endpoint(), {.api_version = "one"}));
  }

  TEST_CASE("a missing socket says the daemon is not running and how to start it") {
    para::test::TempDir dir;
    Endpoint ep;
    ep.socket_path = dir / "docker.sock";
    Result<Client> client = Client::connect(ep);
    REQUIRE_FALSE(client);
    CHECK(client.error().code == Errc::unavailable);
    CHECK(client.error().message.find("not running") != std::string::npos);
    CHECK(client.error().message.find("systemctl start docker") != std::string::npos);
    CHECK(client.error().message.find(ep.socket_path) != std::string::npos);
  }

  TEST_CASE("a socket nobody listens on says the daemon is not running") {
    para::test::TempDir dir;
    const std::string path = dir / "docker.sock";
    {
      // A socket file left behind by a daemon that died: bound, then closed.
      Fd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    Endpoint ep;
    ep.socket_path = path;
    Result<Client> client = Client::connect(ep);
    REQUIRE_FALSE(client);
    CHECK(client.error().code == Errc::unavailable);
    CHECK(client.error().message.find("nothing accepts connections") != std::string::npos);
  }

  TEST_CASE("a refused tcp:// endpoint names the address") {
    Endpoint ep;
    ep.kind = Endpoint::Kind::tcp;
    ep.host = "127.0.0.1";
    ep.port = test::free_port();
    Result<Client> client = Client::connect(ep);
    REQUIRE_FALSE(client);
    CHECK(client.error().code == Errc::unavailable);
    CHECK(client.error().message.find("tcp://127.0.0.1:" + std::to_string(ep.port)) !=
          std::string::npos);
  }

  TEST_CASE("non-2xx answers map to error codes with the daemon's message") {
    const Client& client = test::test_client();
    Result<HttpResponse> r =
        client.call_ok(HttpRequest{.path = "/containers/para-test-no-such/json"},
                       "inspect container para-test-no-such");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::not_found);
    CHECK(r.error().message ==
          "inspect container para-test-no-such failed: No such container: para-test-no-such");
  }
}

}  // namespace para::docker
