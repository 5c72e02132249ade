#pragma once

// The proxy server: one libuv event loop (the thread that calls run()), any
// number of listeners on loopback TCP or Unix sockets, each with its own
// policy, session name, optional Basic auth and decision log, so sessions
// never share an allowlist. See the theory of operation in server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "proxy/policy.h"

namespace para::proxy {

struct ServerOptions {
  size_t max_connections = 16384;  // beyond it new connections are closed at accept
  size_t max_head_bytes = 16 * 1024;
  size_t max_hello_bytes = 64 * 1024;
  std::chrono::milliseconds head_timeout{10'000};     // accept -> complete request head
  std::chrono::milliseconds connect_timeout{10'000};  // resolve + connect -> 504
  std::chrono::milliseconds hello_timeout{10'000};    // 200 -> complete ClientHello
  std::chrono::milliseconds idle_timeout{600'000};    // no byte either way for this long
  std::chrono::milliseconds response_timeout{
      60'000};                              // plain HTTP: no byte before a response -> 504
  std::chrono::milliseconds stop_grace{0};  // on stop(), tunnels get this long to finish
  size_t read_size = 64 * 1024;             // one read buffer
  size_t high_water = 64 * 1024;            // pause the source above this many queued bytes
  size_t low_water = 16 * 1024;             // resume it at or below this many
  bool splice = true;  // Linux: relay bulk transfers with splice(2), without copying
  uint64_t splice_after = 128 * 1024;  // bytes a tunnel moves by copying before it may switch
  std::vector<int> stop_signals;       // e.g. {SIGINT, SIGTERM}: stop() on delivery
};

struct ListenerOptions {
  std::string session;   // names the listener's decisions in the log
  std::string endpoint;  // "unix:/path" or "127.0.0.1:8877", "[::1]:0" (loopback only)
  std::shared_ptr<const Policy> policy;
  std::string log_path;    // JSON lines; empty = stderr
  std::string basic_auth;  // "user:password" to require Proxy-Authorization (407); "" = none
};

struct ServerStats {
  uint64_t accepted = 0;          // connections accepted
  uint64_t refused_over_cap = 0;  // closed at accept because max_connections was reached
  uint64_t active = 0;            // connections open now
  uint64_t tunnels = 0;           // of which relaying bytes now
  uint64_t spliced = 0;           // tunnels that switched to splice(2), in all
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  /// Stops and drains whatever is still open; asserts that no libuv handle leaked.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds a listener; returns its endpoint with the real port ("127.0.0.1:41234",
  /// "unix:/run/x/proxy.sock"). A Unix socket is created 0600; missing parent
  /// directories are created 0700; a stale socket file is replaced, a live one
  /// is an error. Call before run() or from the loop thread.
  /// Errors: invalid_argument (bad endpoint, non-loopback address, no policy),
  /// already_exists (a live socket), io.
  Result<std::string> listen(const ListenerOptions& options);

  /// Runs the loop on the calling thread until stop() has drained everything.
  void run();
  /// Stops accepting, closes connections that are not yet tunnels, gives
  /// tunnels `stop_grace` to finish, then closes the rest. Thread-safe; may
  /// be called before run() and more than once.
  void stop();

  /// Counters, readable from any thread.
  ServerStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (a tunnel takes two
/// descriptors). Returns the new soft limit.
uint64_t raise_open_file_limit();

}  // namespace para::proxy
