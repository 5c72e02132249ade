#include "tests/integration/proxy/fixtures.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "core/process.h"

namespace para::test {

// ---- certificates ----

Certs::Certs() : dir_("para-proxy-certs") {
  std::string san = "subjectAltName=";
  for (size_t i = 0; i < kCertNames.size(); ++i) san += (i ? ",DNS:" : "DNS:") + kCertNames[i];
  const Completed r = run_cmd({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                               "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key(), "-out",
                               cert(), "-days", "2", "-subj", "/CN=allowed.test", "-addext", san},
                              {}, dir_.path());
  REQUIRE_MESSAGE(r.exit_code == 0, "openssl req failed: " << r.err);
}

// ---- pattern and hashes ----

std::string pattern(size_t n, uint64_t offset) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = offset + i;
    out[i] = static_cast<char>((k * 2654435761u >> 13) ^ (k >> 7));
  }
  return out;
}

namespace {
std::string hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

struct Sha256 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  void update(const void* d, size_t n) { EVP_DigestUpdate(ctx, d, n); }
  std::string done() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    return hex(md, len);
  }
};
}  // namespace

std::string pattern_sha256(uint64_t n) {
  Sha256 h;
  constexpr size_t kChunk = 1 << 20;
  for (uint64_t off = 0; off < n; off += kChunk) {
    const std::string part = pattern(static_cast<size_t>(std::min<uint64_t>(kChunk, n - off)), off);
    h.update(part.data(), part.size());
  }
  return h.done();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.done();
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return h.done();
}

std::string client_hello(const std::string& server_name) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  if (!server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  SSL_connect(ssl);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

// ---- HTTPS and HTTP servers (cpp-httplib) ----

namespace {
void serve_pattern(const httplib::Request& req, httplib::Response& res) {
  const uint64_t n = std::stoull(req.matches[1]);
  res.set_content_provider(
      n, "application/octet-stream", [](size_t offset, size_t length, httplib::DataSink& sink) {
        const std::string part = pattern(std::min<size_t>(length, 1 << 18), offset);
        sink.write(part.data(), part.size());
        return true;
      });
}

void hash_body(const httplib::Request&, httplib::Response& res,
               const httplib::ContentReader& reader) {
  Sha256 h;
  reader([&](const char* data, size_t n) {
    h.update(data, n);
    return true;
  });
  res.set_content(h.done(), "text/plain");
}

template <class S>
uint16_t start_server(S& server, std::thread& thread) {
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  thread = std::thread([&server] { server.listen_after_bind(); });
  REQUIRE(wait_until([&] { return server.is_running(); }));
  return static_cast<uint16_t>(port);
}
}  // namespace

struct HttpsServer::Impl {
  Impl(const Certs& c) : server(c.cert().c_str(), c.key().c_str()) {}
  httplib::SSLServer server;
  std::thread thread;
};

HttpsServer::HttpsServer(const Certs& certs) : impl_(std::make_unique<Impl>(certs)) {
  REQUIRE(impl_->server.is_valid());
  impl_->server.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });
  impl_->server.Get(R"(/bytes/(\d+))", serve_pattern);
  impl_->server.Put("/sha256", hash_body);
  impl_->server.Post("/sha256", hash_body);
  port_ = start_server(impl_->server, impl_->thread);
}

HttpsServer::~HttpsServer() {
  impl_->server.stop();
  impl_->thread.join();
}

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  mutable std::mutex mu;
  std::vector<std::string> requests;
  std::vector<std::pair<std::string, std::string>> headers;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  auto record = [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string target = req.path;
    if (!req.params.empty()) {
      target += "?";
      for (const auto& [k, v] : req.params) target += k + "=" + v;
    }
    impl_->requests.push_back(req.method + " " + target);
    impl_->headers.assign(req.headers.begin(), req.headers.end());
    res.set_content("seen " + req.path + "\n", "text/plain");
  };
  impl_->server.Get(".*", record);
  impl_->server.Post(".*", record);
  port_ = start_server(impl_->server, impl_->thread);
}

HttpServer::~HttpServer() {
  impl_->server.stop();
  impl_->thread.join();
}

std::vector<std::string> HttpServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

std::vector<std::pair<std::string, std::string>> HttpServer::last_headers() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->headers;
}

// ---- TcpServer (libuv, for many connections) ----

struct TcpServer::Impl {
  Mode mode;
  uint64_t source_bytes;
  uv_loop_t loop{};
  uv_tcp_t listener{};
  uv_async_t stop{};
  std::thread thread;
  std::atomic<uint64_t> accepted{0};
  std::unordered_set<struct Conn*> conns;
};

struct Conn {
  TcpServer::Impl* server;
  uv_tcp_t tcp{};
  uv_shutdown_t shutdown{};
  uint64_t sent = 0;
  bool reading = false, closing = false;
};

namespace {
struct Write {
  uv_write_t req{};
  std::unique_ptr<char[]> bytes;
  std::string text;
  Conn* conn;
};

void close_conn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  c->server->conns.erase(c);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
           [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
}

void pump_source(Conn* c);

void on_source_written(uv_write_t* req, int status) {
  std::unique_ptr<Write> w(static_cast<Write*>(req->data));
  if (status < 0 || w->conn->closing) {
    if (status < 0) close_conn(w->conn);
    return;
  }
  pump_source(w->conn);
}

// Keeps about 1 MiB queued until source_bytes are sent, then EOF.
void pump_source(Conn* c) {
  auto* s = reinterpret_cast<uv_stream_t*>(&c->tcp);
  while (c->sent < c->server->source_bytes && uv_stream_get_write_queue_size(s) < (1 << 20)) {
    auto w = std::make_unique<Write>();
    w->conn = c;
    w->text = pattern(
        static_cast<size_t>(std::min<uint64_t>(64 << 10, c->server->source_bytes - c->sent)),
        c->sent);
    c->sent += w->text.size();
    w->req.data = w.get();
    uv_buf_t buf = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
    if (uv_write(&w->req, s, &buf, 1, on_source_written) != 0) return close_conn(c);
    w.release();
  }
  if (c->sent >= c->server->source_bytes && uv_stream_get_write_queue_size(s) == 0 &&
      c->shutdown.data == nullptr) {
    c->shutdown.data = c;
    uv_shutdown(&c->shutdown, s,
                [](uv_shutdown_t* r, int) { close_conn(static_cast<Conn*>(r->data)); });
  }
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* b) {
  *b = uv_buf_init(new char[65536], 65536);
}

void on_echo_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b);

void on_echo_written(uv_write_t* req, int status) {
  std::unique_ptr<Write> w(static_cast<Write*>(req->data));
  Conn* c = w->conn;
  if (c->closing) return;
  if (status < 0) return close_conn(c);
  auto* s = reinterpret_cast<uv_stream_t*>(&c->tcp);
  if (!c->reading && c->shutdown.data == nullptr &&
      uv_stream_get_write_queue_size(s) < (256 << 10)) {
    c->reading = true;
    uv_read_start(s, on_alloc, on_echo_read);
  }
}

void on_echo_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
  std::unique_ptr<char[]> data(b->base);
  auto* c = static_cast<Conn*>(s->data);
  if (n == 0 || c->closing) return;
  if (n < 0) {
    uv_read_stop(s);
    c->reading = false;
    if (n != UV_EOF) return close_conn(c);
    c->shutdown.data = c;  // after the queued echo: half-close answered with EOF
    uv_shutdown(&c->shutdown, s,
                [](uv_shutdown_t* r, int) { close_conn(static_cast<Conn*>(r->data)); });
    return;
  }
  auto w = std::make_unique<Write>();
  w->conn = c;
  w->bytes = std::move(data);
  w->req.data = w.get();
  uv_buf_t buf = uv_buf_init(w->bytes.get(), static_cast<unsigned>(n));
  if (uv_write(&w->req, s, &buf, 1, on_echo_written) != 0) return close_conn(c);
  w.release();
  if (uv_stream_get_write_queue_size(s) > (1 << 20)) {
    uv_read_stop(s);
    c->reading = false;
  }
}

void on_tcp_connection(uv_stream_t* listener, int status) {
  auto* impl = static_cast<TcpServer::Impl*>(listener->data);
  if (status < 0) return;
  auto* c = new Conn{impl};
  uv_tcp_init(&impl->loop, &c->tcp);
  c->tcp.data = c;
  impl->conns.insert(c);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return close_conn(c);
  ++impl->accepted;
  switch (impl->mode) {
    case TcpServer::Mode::echo:
      c->reading = true;
      uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_echo_read);
      break;
    case TcpServer::Mode::silent:
      break;
    case TcpServer::Mode::source:
      pump_source(c);
      break;
  }
}
}  // namespace

TcpServer::TcpServer(Mode mode, uint64_t source_bytes) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.mode = mode;
  s.source_bytes = source_bytes;
  uv_loop_init(&s.loop);
  uv_tcp_init(&s.loop, &s.listener);
  s.listener.data = &s;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  REQUIRE(uv_tcp_bind(&s.listener, reinterpret_cast<sockaddr*>(&addr), 0) == 0);
  REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&s.listener), 4096, on_tcp_connection) == 0);
  sockaddr_in bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&s.listener, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.sin_port);
  uv_async_init(&s.loop, &s.stop, [](uv_async_t* a) {
    auto* impl = static_cast<Impl*>(a->data);
    const std::vector<Conn*> all(impl->conns.begin(), impl->conns.end());
    for (Conn* c : all) close_conn(c);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->listener), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->stop), nullptr);
  });
  s.stop.data = &s;
  s.thread = std::thread([&s] { uv_run(&s.loop, UV_RUN_DEFAULT); });
}

TcpServer::~TcpServer() {
  uv_async_send(&impl_->stop);
  impl_->thread.join();
  CHECK(uv_loop_close(&impl_->loop) == 0);
}

uint64_t TcpServer::accepted() const {
  return impl_->accepted.load();
}

// ---- the proxy in this process ----

InProcessProxy::InProcessProxy(proxy::ServerOptions options)
    : dir_("para-proxy-test"), server_(std::make_unique<proxy::Server>(std::move(options))) {}

InProcessProxy::~InProcessProxy() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::string InProcessProxy::listen(proxy::ListenerOptions options) {
  Result<std::string> r = server_->listen(options);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  return *r;
}

std::string InProcessProxy::listen_tcp(const proxy::PolicyConfig& config,
                                       const std::string& session) {
  auto policy = proxy::build_policy(config);
  REQUIRE_MESSAGE(policy.has_value(), (policy ? "" : policy.error().message));
  return listen({.session = session,
                 .endpoint = "127.0.0.1:0",
                 .policy = *policy,
                 .log_path = log_path(session)});
}

void InProcessProxy::start() {
  started_ = true;
  thread_ = std::thread([this] { server_->run(); });
}

// ---- para proxy as a process ----

ProxyProcess::ProxyProcess(std::vector<std::string> args, std::vector<std::string> prefix)
    : dir_("para-proxy-proc") {
  std::vector<std::string> argv = std::move(prefix);
  argv.push_back(built_binary("para"));
  argv.push_back("proxy");
  bool has_log = false, has_listen = false;
  for (const std::string& a : args) {
    has_log = has_log || a == "--log";
    has_listen = has_listen || a == "--listen" || a == "--port";
  }
  for (std::string& a : args) argv.push_back(std::move(a));
  if (!has_log) {
    argv.push_back("--log");
    argv.push_back(log_path());
  }
  if (!has_listen) {
    argv.push_back("--port");
    argv.push_back("0");
  }
  const std::string err_path = dir_ / "stderr";
  Fd err(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Result<pid_t> pid = spawn({.argv = argv, .stderr_fd = err.get()});
  REQUIRE_MESSAGE(pid.has_value(), (pid ? "" : pid.error().message));
  pid_ = *pid;
  const std::string marker = "listening on ";
  const bool up = wait_until(
      [&] {
        const std::string text = stderr_text();
        const size_t at = text.find(marker);
        if (at == std::string::npos) return !process_exists(pid_);
        const size_t end = text.find('\n', at);
        if (end == std::string::npos) return false;
        endpoint_ = text.substr(at + marker.size(), end - at - marker.size());
        return true;
      },
      15s);
  REQUIRE_MESSAGE((up && !endpoint_.empty()), "para proxy did not start: " << stderr_text());
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    (void)wait_for(pid_, 10s);
  }
}

uint16_t ProxyProcess::port() const {
  return static_cast<uint16_t>(std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)));
}

int ProxyProcess::terminate(std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  return wait_exit(timeout);
}

void ProxyProcess::signal(int signum) const {
  if (pid_ > 0) ::kill(pid_, signum);
}

int ProxyProcess::wait_exit(std::chrono::milliseconds timeout) {
  Result<ExitStatus> st = wait_for(pid_, timeout);
  REQUIRE_MESSAGE(st.has_value(), "para proxy did not exit in time");
  pid_ = -1;
  return st->term_signal != 0 ? 128 + st->term_signal : st->exit_code;
}

std::string ProxyProcess::stderr_text() const {
  return read_text(dir_ / "stderr");
}

namespace {
uint64_t status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  }
  return 0;
}
}  // namespace

uint64_t ProxyProcess::rss_kib() const {
  return status_kib(pid_, "VmRSS");
}
uint64_t ProxyProcess::peak_rss_kib() const {
  return status_kib(pid_, "VmHWM");
}

// ---- raw client ----

Client::Client(const std::string& endpoint) {
  if (endpoint.rfind("unix:", 0) == 0) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string path = endpoint.substr(5);
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) fd_.reset();
    return;
  }
  const size_t colon = endpoint.rfind(':');
  std::string host = endpoint.substr(0, colon);
  const int port = std::stoi(endpoint.substr(colon + 1));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.front() == '[') {
    host = host.substr(1, host.size() - 2);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    len = sizeof *in6;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &in->sin_addr);
    len = sizeof *in;
  }
  fd_.reset(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    fd_.reset();
    return;
  }
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {
// 1: readable, 0: timeout, -1: error.
int wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  return r < 0 ? -1 : r;
}
}  // namespace

std::string Client::read_some(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) return std::exchange(pending_, {});
  if (wait_readable(fd_.get(), timeout) <= 0) return "";
  char buf[65536];
  const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string Client::read_until(std::string_view delimiter, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  while (out.find(delimiter) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const std::string part = read_some(left);
    if (part.empty()) break;
    out += part;
  }
  const size_t at = out.find(delimiter);
  if (at != std::string::npos && at + delimiter.size() < out.size()) {
    pending_ = out.substr(at + delimiter.size());
    out.resize(at + delimiter.size());
  }
  return out;
}

std::string Client::read_exactly(size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  while (out.size() < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const std::string part = read_some(left);
    if (part.empty()) break;
    out += part;
  }
  return out;
}

bool Client::read_to_eof(std::string* out, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  if (out != nullptr) out->append(std::exchange(pending_, {}));
  pending_.clear();
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (wait_readable(fd_.get(), left) <= 0) return false;
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;  // a reset is an end too
    if (out != nullptr) out->append(buf, static_cast<size_t>(n));
  }
}

void Client::shutdown_write() {
  ::shutdown(fd_.get(), SHUT_WR);
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

std::string connect_through(Client& c, const std::string& target,
                            const std::string& extra_headers) {
  c.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + extra_headers + "\r\n");
  std::string head = c.read_until("\r\n\r\n");
  if (status_of(head) != 200 && status_of(head) != 0) {
    std::string rest;
    c.read_to_eof(&rest, 2s);
    head += rest;
  }
  return head;
}

// ---- curl ----

std::string curl_path() {
  Result<std::string> p = find_program("curl");
  REQUIRE_MESSAGE(p.has_value(), "curl is missing (it is in .ci/setup)");
  return *p;
}

Completed curl(const std::vector<std::string>& args, const std::vector<std::string>& env,
               std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {curl_path(), "-sS", "--max-time", "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> full_env = {"PATH=/usr/bin:/bin", "HOME=/nonexistent"};
  full_env.insert(full_env.end(), env.begin(), env.end());
  return run_cmd(argv, full_env, "/", "", timeout);
}

// ---- decision log ----

std::vector<std::string> log_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string wait_for_log(const std::string& path, const std::vector<std::string>& needles,
                         std::chrono::milliseconds timeout) {
  std::string found;
  wait_until(
      [&] {
        for (const std::string& line : log_lines(path)) {
          bool all = true;
          for (const std::string& n : needles) all = all && line.find(n) != std::string::npos;
          if (all) {
            found = line;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

}  // namespace para::test
