#pragma once

// Real servers, real clients and the real proxy for the proxy integration
// tests, all on loopback. Test names ("allowed.test", "evil.test") reach the
// loopback servers through the proxy's pins (--resolve HOST:ADDR); clients
// never resolve anything themselves.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "proxy/server.h"
#include "tests/support/support.h"

namespace para::test {

using namespace std::chrono_literals;

/// A self-signed certificate for the test names, made by `openssl req` in a
/// TempDir at test time (never committed).
class Certs {
 public:
  Certs();
  std::string cert() const { return dir_ / "cert.pem"; }
  std::string key() const { return dir_ / "key.pem"; }

 private:
  TempDir dir_;
};
/// The names the certificate is valid for.
inline const std::vector<std::string> kCertNames = {"allowed.test", "*.allowed.test", "evil.test",
                                                    "other.test",   "a.test",         "b.test"};

/// An HTTPS server (cpp-httplib SSLServer) on 127.0.0.1:<random>:
///   GET /hello -> "hello"; GET /bytes/N -> N pattern bytes (pattern_sha256);
///   PUT /sha256 -> hex SHA-256 of the body.
class HttpsServer {
 public:
  explicit HttpsServer(const Certs& certs);
  ~HttpsServer();
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

/// A plain HTTP server on 127.0.0.1:<random> that records what it received:
/// GET/POST anything -> "seen <path>"; requests() lists "METHOD target" and
/// last_headers() the headers of the last one.
class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  uint16_t port() const { return port_; }
  std::vector<std::string> requests() const;
  std::vector<std::pair<std::string, std::string>> last_headers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

/// A libuv TCP server on 127.0.0.1:<random>, thousands of connections.
/// echo: every byte back, EOF answered with EOF after the echo (half-close).
/// silent: accepts and never reads or writes (a stalled peer).
/// source: sends `source_bytes` pattern bytes, then EOF; ignores input.
class TcpServer {
 public:
  enum class Mode { echo, silent, source };
  explicit TcpServer(Mode mode = Mode::echo, uint64_t source_bytes = 0);
  ~TcpServer();
  uint16_t port() const { return port_; }
  uint64_t accepted() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

/// The proxy server in this process, its loop on a thread.
class InProcessProxy {
 public:
  explicit InProcessProxy(proxy::ServerOptions options = {});
  ~InProcessProxy();  // stop() + join; ~Server asserts no handle leaked
  /// Adds a listener (before start()). Returns its endpoint.
  std::string listen(proxy::ListenerOptions options);
  /// A TCP listener on 127.0.0.1:0 with this policy and a log in the TempDir.
  std::string listen_tcp(const proxy::PolicyConfig& config, const std::string& session = "test");
  void start();
  proxy::Server& server() { return *server_; }
  std::string log_path(const std::string& session) const { return dir_ / (session + ".jsonl"); }

 private:
  TempDir dir_;
  std::unique_ptr<proxy::Server> server_;
  std::thread thread_;
  bool started_ = false;
};

/// `para proxy ...` as a child process (the built binary), stderr to a file.
class ProxyProcess {
 public:
  explicit ProxyProcess(std::vector<std::string> args, std::vector<std::string> prefix = {});
  ~ProxyProcess();  // SIGKILL if still running
  /// "127.0.0.1:PORT" (or the first listen line).
  const std::string& endpoint() const { return endpoint_; }
  uint16_t port() const;
  pid_t pid() const { return pid_; }
  /// SIGTERM and wait; returns the exit code (or 128+signal).
  int terminate(std::chrono::milliseconds timeout = 15s);
  void signal(int signum) const;
  /// Waits for the exit (fails the test on timeout); the exit code or 128+signal.
  int wait_exit(std::chrono::milliseconds timeout = 15s);
  std::string stderr_text() const;
  /// VmRSS / VmHWM of the process in KiB.
  uint64_t rss_kib() const;
  uint64_t peak_rss_kib() const;
  std::string log_path() const { return dir_ / "net.jsonl"; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string endpoint_;
};

/// A blocking loopback client with per-call timeouts.
class Client {
 public:
  /// Connects to "127.0.0.1:PORT", "[::1]:PORT" or "unix:/path"; fails the test on error.
  explicit Client(const std::string& endpoint);
  bool send(std::string_view bytes);
  /// Reads what is there (waits up to timeout for the first byte); "" on EOF or timeout.
  std::string read_some(std::chrono::milliseconds timeout = 5s);
  /// Reads until `delimiter` has arrived (inclusive) or EOF/timeout; bytes
  /// after the delimiter stay buffered for the next read.
  std::string read_until(std::string_view delimiter, std::chrono::milliseconds timeout = 5s);
  /// Reads exactly n bytes unless EOF/timeout comes first.
  std::string read_exactly(size_t n, std::chrono::milliseconds timeout = 10s);
  /// Reads until EOF (true) or timeout (false).
  bool read_to_eof(std::string* out, std::chrono::milliseconds timeout = 5s);
  void shutdown_write();
  int fd() const { return fd_.get(); }
  bool connected() const { return fd_.valid(); }

 private:
  Fd fd_;
  std::string pending_;  // read past a delimiter, not yet returned
};

/// The status code of an HTTP response head ("HTTP/1.1 403 ..." -> 403), 0 if none.
int status_of(const std::string& response);
/// Sends "CONNECT target HTTP/1.1" and returns the response head (and body if closed).
std::string connect_through(Client& c, const std::string& target,
                            const std::string& extra_headers = "");

/// A real TLS ClientHello (OpenSSL's) for a server name; none when empty.
std::string client_hello(const std::string& server_name);

/// N bytes of the deterministic test pattern, starting at `offset`.
std::string pattern(size_t n, uint64_t offset = 0);
/// Hex SHA-256 of the first n pattern bytes, and of arbitrary bytes/files.
std::string pattern_sha256(uint64_t n);
std::string sha256_hex(std::string_view bytes);
std::string file_sha256(const std::string& path);

/// The curl binary (fails the test when missing: curl is in .ci/setup).
std::string curl_path();
/// Runs curl with the given arguments and a clean environment plus `env`.
Completed curl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
               std::chrono::milliseconds timeout = 60s);

/// Decision log lines (JSON objects) of a log file.
std::vector<std::string> log_lines(const std::string& path);
/// Waits until a log line contains every needle; returns that line or "".
std::string wait_for_log(const std::string& path, const std::vector<std::string>& needles,
                         std::chrono::milliseconds timeout = 5s);

}  // namespace para::test
