// docker/http.h over cpp-httplib 0.11: one connection per exchange, no
// keep-alive, no URL encoding or decompression by the library (the client
// encodes targets itself and Docker's streams are not compressed).

#include <sys/socket.h>

#include <httplib.h>

#include <memory>

#include "docker/http.h"

namespace para::docker {
namespace {

HttpFailure failure_of(httplib::Error err) {
  switch (err) {
    case httplib::Error::Success:
      return HttpFailure::none;
    case httplib::Error::Connection:
      return HttpFailure::connection;
    case httplib::Error::ConnectionTimeout:
      return HttpFailure::connection_timeout;
    case httplib::Error::SSLConnection:
      return HttpFailure::ssl_connection;
    case httplib::Error::SSLServerVerification:
      return HttpFailure::ssl_server_verification;
    case httplib::Error::SSLLoadingCerts:
      return HttpFailure::ssl_loading_certs;
    case httplib::Error::Read:
      return HttpFailure::read;
    case httplib::Error::Write:
      return HttpFailure::write;
    case httplib::Error::Canceled:
      return HttpFailure::canceled;
    default:
      return HttpFailure::other;
  }
}

std::unique_ptr<httplib::ClientImpl> make_client(const HttpExchange& x) {
  const Endpoint& ep = x.endpoint;
  std::unique_ptr<httplib::ClientImpl> http;
  if (ep.kind == Endpoint::Kind::unix_socket) {
    http = std::make_unique<httplib::ClientImpl>(ep.socket_path);
    http->set_address_family(AF_UNIX);
  } else if (!ep.tls) {
    http = std::make_unique<httplib::ClientImpl>(ep.host, ep.port);
  } else {
    auto ssl =
        std::make_unique<httplib::SSLClient>(ep.host, ep.port, ep.client_cert, ep.client_key);
    if (!ssl->is_valid()) return nullptr;
    if (!ep.ca_cert.empty()) ssl->set_ca_cert_path(ep.ca_cert);
    ssl->enable_server_certificate_verification(ep.tls_verify);
    http = std::move(ssl);
  }
  http->set_default_headers({{"Host", x.host_header}, {"User-Agent", "para"}});
  http->set_connection_timeout(x.connect_timeout);
  http->set_read_timeout(x.read_timeout);
  http->set_write_timeout(std::chrono::seconds(60));
  http->set_keep_alive(false);
  http->set_url_encode(false);
  http->set_decompress(false);
  return http;
}

HttpOutcome exchange(const HttpExchange& x) {
  std::unique_ptr<httplib::ClientImpl> http = make_client(x);
  if (!http) return HttpOutcome{HttpFailure::bad_client_cert, {}};

  httplib::Request req;
  req.method = x.method;
  req.path = x.target;
  for (const auto& [k, v] : x.headers) req.headers.emplace(k, v);
  if (!x.body.empty()) {
    req.body = x.body;
  } else if (x.body_writer) {
    req.is_chunked_content_provider_ = true;
    // Called once: the writer pushes the whole body, then the chunked stream ends.
    req.content_provider_ = [&](size_t, size_t, httplib::DataSink& sink) -> bool {
      const bool written = x.body_writer([&](std::string_view bytes) {
        return bytes.empty() || sink.write(bytes.data(), bytes.size());
      });
      if (written) sink.done();
      return written;
    };
  }
  // cpp-httplib calls response_handler only for answers with a body (not
  // 204): the head of the others is reported after send().
  bool head_reported = false;
  auto report_head = [&](const httplib::Response& res) {
    head_reported = true;
    if (x.on_head) x.on_head(res.status, {res.headers.begin(), res.headers.end()});
  };
  req.response_handler = [&](const httplib::Response& res) {
    report_head(res);
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    return x.on_data ? x.on_data(std::string_view(data, n)) : true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (http->send(req, res, err)) {
    if (!head_reported) report_head(res);
    return {};
  }
  return HttpOutcome{failure_of(err), httplib::to_string(err)};
}

const HttpModule kModule{kHttpAbi, &exchange};

}  // namespace
}  // namespace para::docker

extern "C" const para::docker::HttpModule* para_docker_http_v1() {
  return &para::docker::kModule;
}
