// Theory of operation
// ===================
//
// One libuv loop, owned by the thread in run(). Listeners (TCP on loopback or
// Unix sockets) each carry a policy, a session name, optional Basic auth and
// a decision log. Every accepted client gets one Connection, which owns all
// of its libuv state and frees itself.
//
// Connection states:
//
//   reading_head --(head complete, auth ok, policy allows)--> resolving
//        |                                                       |
//        | 400/403/405/407 reply ---> replying ---> closed       | pin, IP literal or
//        |                                                       | resolve_exactly; every
//   resolving --(no address survives the check) 403 -----------> | address is checked
//   resolving/connecting --(timeout) 504, (failure) 502          v
//   connecting --(connected)--> CONNECT, TLS port:  "200" + reading_hello --(SNI ok)--> relaying
//                               CONNECT, plain port: "200" + relaying
//                               absolute-form HTTP:  origin-form head upstream + relaying
//   any state --close()--> closing (terminal)
//
// Ownership. A Connection is created with `new` at accept and embeds its
// handles (client TCP or pipe, upstream TCP, one timer) and requests
// (a lookup on the threadpool, connect, two shutdowns). `pending_` counts
// open handles plus an in-flight lookup; the close and resolve callbacks
// decrement it and the one that reaches zero deletes the Connection.
// Nothing else deletes it.
// Write, connect and shutdown callbacks run with UV_ECANCELED before the
// close callbacks (libuv guarantees this), so they may still touch it.
// close() is idempotent: it logs the decision once, leaves the server's set
// and closes every handle.
//
// Dialling. The canonical host is matched against the policy; then the
// addresses (a pin, the IP literal itself, or the answer for exactly that
// name: proxy/resolve.h, no search domains) are each checked
// (proxy/address.h) and only addresses that pass are dialled, in order,
// with exactly the sockaddr that was checked: no second lookup.
// A failed attempt closes the upstream handle and re-initialises it for the
// next address (a handle cannot connect twice).
//
// Relaying and backpressure. All reads land in one loop-wide buffer (the
// loop is single-threaded and each read is consumed in its callback). Bytes
// are passed on with uv_try_write; only what the kernel did not take is
// copied into a heap buffer and queued with uv_write. When the destination's
// write queue passes high_water the source stops reading ("paused", our own
// flag) and resumes in the write callback once the queue is at low_water. So
// an idle or fast tunnel holds no buffer at all, and a slow one at most about
// high_water + read_size per direction.
//
// Zero-copy relaying (Linux, ServerOptions::splice). A tunnel starts on the
// copy path. Once it has moved splice_after bytes (a bulk transfer), nothing
// is queued on either stream, neither side has said EOF and descriptors have
// headroom (a spliced tunnel holds 6: two sockets, two pipes), both sockets
// are dup()ed, their libuv stream handles closed (libuv removes them from
// epoll before closing, so the dups are not left registered) and the tunnel
// moves bytes with splice(2) through one pipe per direction, driven by two
// uv_poll_t. A pipe holds at most 64 KiB, which is the backpressure: a full
// pipe stops reading its source. Idle and short tunnels never hold pipes.
//
// Half-close. EOF from one side stops reading it and shuts down the other
// side after its queued writes. The tunnel closes when both directions have
// been shut down, or on any error.
//
// Timers. One timer per connection, re-armed per state: head timeout, resolve
// plus connect timeout (504), ClientHello timeout, and in relaying an idle
// timeout that compares against the time of the last byte moved in either
// direction, so a tunnel that moves data is never cut. A plain-HTTP request
// whose origin has not begun a response uses the shorter response timeout,
// and a 504 replaces the silent close: the client has had no byte yet. An
// origin that ends or resets the connection at that point gets a 502.
//
// Stop. stop() (any thread) wakes the loop through uv_async. The loop closes
// the listeners, closes connections that are not relaying, gives tunnels
// stop_grace and then closes them. When the last connection is gone the
// async handle, signal handles and grace timer close and uv_run returns.

#include "proxy/server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "core/log.h"
#include "proxy/decision_log.h"
#include "proxy/head.h"
#include "proxy/resolve.h"
#include "proxy/tls_hello.h"

namespace para::proxy {
namespace {

template <class T>
uv_handle_t* as_handle(T* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}
template <class T>
uv_stream_t* as_stream(T* h) {
  return reinterpret_cast<uv_stream_t*>(h);
}

const char* status_phrase(int status) {
  switch (status) {
    case 200:
      return "Connection established";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 407:
      return "Proxy Authentication Required";
    case 411:
      return "Length Required";
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

std::string seconds_text(std::chrono::milliseconds ms) {
  const auto count = ms.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + " s";
  return std::to_string(count) + " ms";
}

std::optional<std::string> base64_decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// Equal lengths compare without an early exit, so timing does not reveal
// how much of a guessed password was right.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool credentials_match(const std::optional<std::string>& header, const std::string& expected) {
  if (!header) return false;
  std::string_view v = *header;
  if (v.size() < 6) return false;
  std::string scheme(v.substr(0, 6));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "basic ") return false;
  v.remove_prefix(6);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  const std::optional<std::string> decoded = base64_decode(v);
  return decoded && constant_time_equal(*decoded, expected);
}

}  // namespace

class Connection;

union AnyStream {
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

struct Listener {
  Server::Impl* server = nullptr;
  ListenerOptions options;
  std::string endpoint;  // as reported by listen()
  std::unique_ptr<DecisionLog> log;
  bool is_unix = false;
  std::string unix_path;
  AnyStream handle{};
  bool open = false;
};

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  void on_stop() noexcept;
  void forget(Connection* c) noexcept;
  void maybe_finish_stop() noexcept;
  const std::vector<IpAddress>& own_addresses() noexcept;

  ServerOptions options;
  uv_loop_t loop{};
  uv_async_t stop_async{};
  uv_timer_t grace_timer{};
  std::vector<std::unique_ptr<uv_signal_t>> signals;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::unordered_set<Connection*> connections;
  bool stopping = false;
  bool finished = false;

  std::mutex async_mutex;  // guards async_open against stop() from other threads
  bool async_open = false;

  std::vector<IpAddress> own;
  uint64_t own_read_at = 0;
  bool own_read = false;

  std::atomic<uint64_t> accepted{0}, refused_over_cap{0}, active{0}, tunnels{0}, spliced_total{0};
  std::unique_ptr<char[]> read_buffer{new char[options.read_size]};
  size_t spliced = 0;  // tunnels relaying with splice(2)

  /// Whether `extra` more descriptors leave a quarter of RLIMIT_NOFILE free
  /// for new connections (estimated: 2 per connection, 4 more per spliced one).
  bool fds_to_spare(size_t extra) const noexcept {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
    const size_t in_use = 64 + 2 * connections.size() + 4 * spliced + listeners.size();
    return in_use + extra <= rl.rlim_cur / 4 * 3;
  }
};

class Connection {
 public:
  Connection(Server::Impl* server, Listener* listener) : server_(server), listener_(listener) {
    start_time_ = std::chrono::system_clock::now();
  }

  /// Initialises the client handle; the caller accepts into client().
  int init_client() noexcept {
    int r = 0;
    if (listener_->is_unix) {
      r = uv_pipe_init(&server_->loop, &client_.pipe, 0);
    } else {
      r = uv_tcp_init(&server_->loop, &client_.tcp);
    }
    if (r == 0) {
      client_.pipe.data = this;  // same offset in both handle types (uv_handle_t header)
      ++pending_;
    }
    return r;
  }
  uv_stream_t* client() noexcept { return as_stream(&client_.tcp); }

  /// Only the last close callback deletes a started Connection.
  ~Connection() { assert(pending_ == 0); }  // splice_'s descriptors close with it

  /// After a successful accept: arm the head timer and start reading.
  void start() noexcept {
    uv_timer_init(&server_->loop, &timer_);
    timer_.data = this;
    ++pending_;
    uv_tcp_init(&server_->loop, &upstream_);
    upstream_.data = this;
    ++pending_;
    started_ms_ = uv_now(&server_->loop);
    if (!listener_->is_unix) uv_tcp_nodelay(&client_.tcp, 1);
    arm_timer(server_->options.head_timeout);
    if (int r = uv_read_start(client(), on_alloc, on_read); r != 0) {
      close_with("error", 0, std::string("cannot read from the client: ") + uv_strerror(r));
    }
  }

  bool relaying() const noexcept { return state_ == State::relaying; }

  /// Closes for a stopping server: a tunnel keeps its allow decision.
  void close_for_stop() noexcept {
    if (state_ == State::relaying) {
      cut();
      close_with("allow", status_, reason_ + "; closed when the proxy stopped");
    } else {
      close();
    }
  }

  /// Idempotent; logs the decision (if one was made) exactly once.
  // The socket's pending error (SO_ERROR, which reading it clears), or 0.
  static int socket_error(uv_handle_t* handle) noexcept {
    uv_os_fd_t fd = -1;
    int error = 0;
    socklen_t size = sizeof error;
    if (uv_fileno(handle, &fd) != 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
      return 0;
    }
    return error;
  }

  // The socket's close sends RST, not FIN (SO_LINGER 0).
  static void abort_on_close(uv_handle_t* handle) noexcept {
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle, &fd) != 0 || fd < 0) return;
    const linger abort{1, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  }

  void close() noexcept {
    if (state_ == State::closing) return;
    if (state_ == State::relaying) --server_->tunnels;
    state_ = State::closing;
    write_log();
    server_->forget(this);
    if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_));
    if (reset_client_)
      abort_on_close(splice_ ? as_handle(&splice_->poll_client) : as_handle(client()));
    // Spliced, the upstream stream handle is closed already (upstream_closed_)
    // and the socket lives on in poll_upstream's descriptor.
    if (reset_upstream_ && splice_) {
      abort_on_close(as_handle(&splice_->poll_upstream));
    } else if (reset_upstream_ && upstream_.loop != nullptr && !upstream_closed_) {
      abort_on_close(as_handle(&upstream_));
    }
    if (splice_) {
      --server_->spliced;
      uv_close(as_handle(&splice_->poll_client), on_closed);
      uv_close(as_handle(&splice_->poll_upstream), on_closed);
    } else {
      uv_close(as_handle(client()), on_closed);
    }
    if (uv_is_closing(as_handle(&timer_)) == 0 && timer_.loop != nullptr) {
      uv_close(as_handle(&timer_), on_closed);
    }
    if (upstream_.loop != nullptr && !upstream_reopening_ && !upstream_closed_) {
      uv_close(as_handle(&upstream_), on_closed);
    }
  }

  /// Records the outcome, then closes.
  void close_with(const char* decision, int status, std::string reason) noexcept {
    if (state_ == State::closing) return;
    set_outcome(decision, status, std::move(reason));
    close();
  }

  /// One side failed while relaying (reset, error): the other is reset as
  /// well, so that no end takes a cut-off transfer for a complete one.
  // The proxy ends a tunnel itself (stop, idle): both sides get a reset, so
  // that neither takes a transfer cut short for a complete one.
  void cut() noexcept {
    reset_client_ = true;
    reset_upstream_ = true;
  }

  void relay_failed(bool client_side, const std::string& what) noexcept {
    if (!client_side && awaiting_response()) {
      return reply(502,
                   authority_text(head_.host, head_.port) + " failed before responding: " + what,
                   "error");
    }
    reset_client_ = !client_side;
    reset_upstream_ = client_side;
    close_with("allow", status_, reason_ + "; " + what);
  }

 private:
  enum class State {
    reading_head,
    resolving,
    connecting,
    reading_hello,
    relaying,
    replying,
    closing
  };

  struct WriteReq {
    uv_write_t req{};
    std::unique_ptr<char[]> bytes;
    std::string text;
    Connection* conn = nullptr;
    bool to_client = false;
    bool final_reply = false;
  };

  // ---- outcome and logging ----

  void set_outcome(const char* decision, int status, std::string reason) noexcept {
    if (!decision_.empty() && decision_ != "allow") return;  // the first refusal is the reason
    decision_ = decision;
    status_ = status;
    reason_ = std::move(reason);
  }

  void write_log() noexcept {
    if (decision_.empty()) return;  // nothing was asked (the client left before a head)
    DecisionRecord r;
    r.time = start_time_;
    r.session = listener_->options.session;
    r.listener = listener_->endpoint;
    r.method = head_.method;
    r.host = head_.host.text;
    r.port = head_.port;
    r.address = address_;
    r.decision = decision_;
    r.status = status_;
    r.reason = reason_;
    r.bytes_up = bytes_up_;
    r.bytes_down = bytes_down_;
    r.duration_ms = static_cast<double>(uv_now(&server_->loop) - started_ms_);
    listener_->log->write(r);
  }

  // ---- callbacks (static trampolines) ----

  static void on_closed(uv_handle_t* h) noexcept {
    auto* c = static_cast<Connection*>(h->data);
    if (--c->pending_ == 0) delete c;
  }

  static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
    Server::Impl* s = static_cast<Connection*>(h->data)->server_;
    *buf = uv_buf_init(s->read_buffer.get(), static_cast<unsigned>(s->options.read_size));
  }

  // `buf` is the shared read buffer: consume it here, never keep it.
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* c = static_cast<Connection*>(s->data);
    if (nread == 0 || c->state_ == State::closing) return;
    if (s == c->client()) {
      c->on_client_read(nread, buf->base);
    } else {
      c->on_upstream_read(nread, buf->base);
    }
  }

  static void on_timer(uv_timer_t* t) noexcept { static_cast<Connection*>(t->data)->on_timeout(); }

  // On a threadpool thread: touches only the lookup_ members, which the loop
  // thread leaves alone until on_resolved.
  static void on_resolve_work(uv_work_t* req) noexcept {
    auto* c = static_cast<Connection*>(req->data);
    c->lookup_status_ = resolve_exactly(c->lookup_host_, &c->lookup_result_);
    c->lookup_errno_ = errno;  // meaningful for EAI_SYSTEM
  }

  static void on_resolved(uv_work_t* req, int /*status: UV_ECANCELED after close()*/) noexcept {
    auto* c = static_cast<Connection*>(req->data);
    c->resolving_ = false;
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(std::exchange(c->lookup_result_, nullptr),
                                                         ::freeaddrinfo);
    --c->pending_;
    if (c->state_ != State::resolving) {  // timed out (504) or closed meanwhile
      if (c->pending_ == 0) delete c;
      return;
    }
    c->resolved(c->lookup_status_, owned.get());
  }

  static void on_connect(uv_connect_t* req, int status) noexcept {
    auto* c = static_cast<Connection*>(req->data);
    if (c->state_ != State::connecting) return;  // timed out (504) or closed meanwhile
    c->connected(status);
  }

  static void on_upstream_reclosed(uv_handle_t* h) noexcept {
    auto* c = static_cast<Connection*>(h->data);
    c->upstream_reopening_ = false;
    if (c->state_ != State::connecting) {  // timed out or closed meanwhile: stays closed
      c->upstream_closed_ = true;
      if (--c->pending_ == 0) delete c;
      return;
    }
    uv_tcp_init(&c->server_->loop, &c->upstream_);
    c->upstream_.data = c;
    c->dial_next();
  }

  static void on_written(uv_write_t* req, int status) noexcept {
    std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
    Connection* c = w->conn;
    if (c->state_ == State::closing) return;
    if (c->splice_) return;  // written before the switch; its stream is closed now
    if (status < 0) {
      if (c->state_ != State::relaying) {
        c->close_with("error", c->status_, std::string("write failed: ") + uv_strerror(status));
        return;
      }
      return c->relay_failed(w->to_client, std::string("write to the ") +
                                               (w->to_client ? "client" : "server") +
                                               " failed: " + uv_strerror(status));
    }
    if (w->final_reply) {
      c->close();
      return;
    }
    c->last_activity_ = uv_now(&c->server_->loop);
    c->maybe_resume(w->to_client);
  }

  static void on_shutdown(uv_shutdown_t* req, int status) noexcept {
    auto* c = static_cast<Connection*>(req->data);
    if (c->state_ == State::closing) return;
    if (status < 0) {
      c->close();
      return;
    }
    if (req == &c->shutdown_client_) {
      c->client_shut_ = true;
    } else {
      c->upstream_shut_ = true;
    }
    if (c->client_shut_ && c->upstream_shut_) c->close();
  }

  // ---- state machine ----

  void arm_timer(std::chrono::milliseconds ms) noexcept {
    uv_timer_start(&timer_, on_timer, static_cast<uint64_t>(ms.count()), 0);
  }

  void on_timeout() noexcept {
    const ServerOptions& o = server_->options;
    switch (state_) {
      case State::reading_head:
        if (head_buf_.empty()) {
          close();  // said nothing at all: no decision to log
        } else {
          close_with("deny", 0, "no complete request head within " + seconds_text(o.head_timeout));
        }
        return;
      case State::resolving:
      case State::connecting:
        reply(504,
              authority_text(head_.host, head_.port) + " did not answer within " +
                  seconds_text(o.connect_timeout),
              "error");
        return;
      case State::reading_hello:
        close_with("deny", 200, "no TLS ClientHello within " + seconds_text(o.hello_timeout));
        return;
      case State::relaying: {
        const uint64_t idle = uv_now(&server_->loop) - last_activity_;
        const auto limit = static_cast<uint64_t>(relay_timeout().count());
        if (idle >= limit && awaiting_response()) {
          reply(504,
                authority_text(head_.host, head_.port) + " sent no response within " +
                    seconds_text(o.response_timeout),
                "error");
        } else if (idle >= limit) {
          cut();
          close_with(
              "allow", status_,
              reason_ + "; closed after " + seconds_text(o.idle_timeout) + " without traffic");
        } else {
          uv_timer_start(&timer_, on_timer, limit - idle, 0);
        }
        return;
      }
      case State::replying:
        close();
        return;
      case State::closing:
        return;
    }
  }

  void on_client_read(ssize_t nread, const char* data) noexcept {
    if (nread < 0) {
      switch (state_) {
        case State::relaying:
          return source_ended(true, static_cast<int>(nread));
        case State::reading_hello:
          return close_with("deny", 200, "the client closed before a TLS ClientHello");
        default:
          return close();
      }
    }
    const std::string_view bytes(data, static_cast<size_t>(nread));
    switch (state_) {
      case State::reading_head:
        head_buf_.append(bytes);
        return try_head();
      case State::reading_hello:
        head_buf_.append(bytes);
        return try_hello();
      case State::relaying:
        last_activity_ = uv_now(&server_->loop);
        if (!head_.connect && !take_request_body(bytes.size())) return;
        return forward(bytes, false);
      default:
        return;  // not reading in the other states
    }
  }

  // Plain HTTP is one request per connection: each request is checked
  // against the policy and logged, so bytes past the first request's body
  // (a pipelined or kept-alive second request, which the origin would serve
  // under any Host) end the connection. False when it was closed.
  bool take_request_body(size_t n) noexcept {
    if (n > request_body_left_) {
      // The logged request was allowed and served; the next one is never
      // read (the client retries it on a new, checked connection).
      close_with("allow", status_,
                 reason_ +
                     "; the connection ended at a second request on it (plain HTTP "
                     "through the proxy is one request per connection)");
      return false;
    }
    request_body_left_ -= n;
    return true;
  }

  void on_upstream_read(ssize_t nread, const char* data) noexcept {
    if (state_ != State::relaying) return;
    if (nread < 0) return source_ended(false, static_cast<int>(nread));
    last_activity_ = uv_now(&server_->loop);
    if (!response_heads_done_) {
      response_pending_.append(data, static_cast<size_t>(nread));
      const std::string out = take_response_heads(
          response_pending_, server_->options.max_head_bytes, response_heads_done_);
      if (!out.empty()) forward(out, true);
      return;
    }
    forward(std::string_view(data, static_cast<size_t>(nread)), true);
  }

  void try_head() noexcept {
    const ParsedHead parsed = parse_head(head_buf_, server_->options.max_head_bytes);
    switch (parsed.status) {
      case ParsedHead::Status::incomplete:
        return;
      case ParsedHead::Status::invalid:
        head_.method = method_of(head_buf_);
        return reply(parsed.error_status, parsed.error, "deny");
      case ParsedHead::Status::complete:
        break;
    }
    head_ = parsed.head;
    head_buf_.erase(0, head_.size);  // what follows the head: early tunnel bytes or body
    uv_read_stop(client());
    const Listener& l = *listener_;
    if (!l.options.basic_auth.empty() &&
        !credentials_match(head_.proxy_authorization, l.options.basic_auth)) {
      return reply(407, "proxy authentication required", "deny");
    }
    decision_rule_ = l.options.policy->match(head_.host, head_.port,
                                             head_.connect ? Scheme::connect : Scheme::http);
    if (!decision_rule_.allowed) return reply(403, decision_rule_.reason, "deny");
    if (!head_.connect && head_.chunked) {
      // Without a length the end of the request, and so the start of a
      // smuggled second one, cannot be told.
      return reply(411,
                   "a plain-HTTP request body needs a Content-Length (Transfer-Encoding is not "
                   "relayed); use HTTPS or send the length",
                   "deny");
    }
    request_body_left_ = head_.body_length;
    set_outcome("allow", head_.connect ? 200 : 0, decision_rule_.reason);
    resolve();
  }

  static std::string method_of(const std::string& buf) {
    const size_t sp = buf.find(' ');
    if (sp == std::string::npos || sp > 16) return "";
    return printable(std::string_view(buf).substr(0, sp), 16);
  }

  void resolve() noexcept {
    state_ = State::resolving;
    arm_timer(server_->options.connect_timeout);
    const Policy& policy = *listener_->options.policy;
    if (head_.host.is_ip()) {
      const std::optional<IpAddress> ip = parse_ip(head_.host.text);
      if (!ip) return reply(400, "cannot read the IP address " + head_.host.text, "deny");
      return check_addresses({*ip}, /*trusted=*/policy.ip_listed(*ip));
    }
    if (const std::vector<IpAddress>* pinned = policy.pinned(head_.host.text)) {
      return check_addresses(*pinned, /*trusted=*/true);
    }
    lookup_host_ = head_.host.text;
    resolve_.data = this;
    const int r = uv_queue_work(&server_->loop, &resolve_, on_resolve_work, on_resolved);
    if (r != 0) {
      return reply(502, "cannot resolve " + head_.host.text + ": " + uv_strerror(r), "error");
    }
    resolving_ = true;
    ++pending_;
  }

  // `status` is getaddrinfo's.
  void resolved(int status, const addrinfo* res) noexcept {
    if (status != 0) {
      const std::string why =
          status == EAI_SYSTEM ? std::strerror(lookup_errno_) : ::gai_strerror(status);
      return reply(502, "cannot resolve " + head_.host.text + ": " + why, "error");
    }
    std::vector<IpAddress> addresses;
    for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      if (std::optional<IpAddress> ip = from_sockaddr(ai->ai_addr)) {
        if (std::find(addresses.begin(), addresses.end(), *ip) == addresses.end()) {
          addresses.push_back(*ip);
        }
      }
    }
    if (addresses.empty()) return reply(502, head_.host.text + " has no IP address", "error");
    check_addresses(addresses, false);
  }

  // Keeps the addresses that may be dialled. `trusted` (a pin, a listed IP
  // literal) skips the local-destination check but never the metadata one.
  void check_addresses(const std::vector<IpAddress>& addresses, bool trusted) noexcept {
    const Policy& policy = *listener_->options.policy;
    const bool allow_local = trusted || policy.allow_local_destinations();
    std::string first_refusal;
    for (const IpAddress& ip : addresses) {
      std::optional<std::string> refusal;
      if (std::optional<std::string> rule = policy.ip_denied(ip, head_.port)) {
        refusal = to_string(ip) + ", which the deny list names (" + *rule + ")";
      } else {
        refusal = destination_refusal(ip, allow_local, server_->own_addresses());
      }
      if (!refusal) {
        candidates_.push_back(ip);
      } else if (first_refusal.empty()) {
        first_refusal = *refusal;
        address_ = to_string(ip);
      }
    }
    if (candidates_.empty()) {
      return reply(403, head_.host.text + " resolves to " + first_refusal, "deny");
    }
    state_ = State::connecting;
    dial_next();
  }

  void dial_next() noexcept {
    if (next_candidate_ >= candidates_.size()) {
      return reply(502,
                   "cannot connect to " + authority_text(head_.host, head_.port) + ": " +
                       last_connect_error_,
                   "error");
    }
    const IpAddress& ip = candidates_[next_candidate_++];
    address_ = to_string(ip);
    sockaddr_storage ss{};
    if (ip.family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      in->sin_port = htons(head_.port);
      std::memcpy(&in->sin_addr, ip.bytes.data(), 4);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(head_.port);
      std::memcpy(&in6->sin6_addr, ip.bytes.data(), 16);
    }
    connect_.data = this;
    const int r =
        uv_tcp_connect(&connect_, &upstream_, reinterpret_cast<sockaddr*>(&ss), on_connect);
    if (r != 0) connected(r);
  }

  void connected(int status) noexcept {
    if (status < 0) {
      last_connect_error_ = uv_strerror(status);
      if (next_candidate_ < candidates_.size()) {
        upstream_reopening_ = true;  // a handle connects once: close it, re-init, dial again
        uv_close(as_handle(&upstream_), on_upstream_reclosed);
        return;
      }
      return reply(502,
                   "cannot connect to " + authority_text(head_.host, head_.port) + " (" + address_ +
                       "): " + last_connect_error_,
                   "error");
    }
    uv_tcp_nodelay(&upstream_, 1);
    uv_timer_stop(&timer_);
    std::string early = std::move(head_buf_);
    head_buf_.clear();
    if (!head_.connect) {
      if (early.size() > request_body_left_) {
        return reply(400,
                     "pipelined requests are refused: plain HTTP through the proxy is one request "
                     "per connection",
                     "deny");
      }
      request_body_left_ -= early.size();
      response_heads_done_ = false;  // its response head gets Connection: close
      send(false, origin_request(head_) + early);
      return start_relaying();
    }
    send(true, "HTTP/1.1 200 Connection established\r\n\r\n", /*count=*/false);
    if (state_ == State::closing) return;
    if (decision_rule_.tls) {
      state_ = State::reading_hello;
      head_buf_ = std::move(early);
      arm_timer(server_->options.hello_timeout);
      if (!head_buf_.empty()) try_hello();
      if (state_ == State::reading_hello) uv_read_start(client(), on_alloc, on_read);
      return;
    }
    if (!early.empty()) send(false, std::move(early));
    start_relaying();
  }

  void try_hello() noexcept {
    const ClientHello hello = parse_client_hello(head_buf_, server_->options.max_hello_bytes);
    switch (hello.status) {
      case ClientHello::Status::incomplete:
        if (head_buf_.size() > server_->options.max_hello_bytes + 1024) {
          close_with("deny", 200, "TLS ClientHello is larger than the limit");
        }
        return;
      case ClientHello::Status::not_tls:
        return close_with("deny", 200,
                          "the tunnel did not start with a TLS ClientHello (port " +
                              std::to_string(head_.port) +
                              " is a TLS port; a policy entry host:port/plain allows other "
                              "protocols)");
      case ClientHello::Status::invalid:
        return close_with("deny", 200, hello.error);
      case ClientHello::Status::complete:
        break;
    }
    if (auto why = sni_refusal(hello.server_name)) return close_with("deny", 200, *why);
    std::string bytes = std::move(head_buf_);
    head_buf_.clear();
    send(false, std::move(bytes));
    start_relaying();
  }

  std::optional<std::string> sni_refusal(const std::optional<std::string>& sni) const {
    if (!sni) {
      if (head_.host.is_ip()) return std::nullopt;  // clients send no SNI for IP addresses
      return "the TLS ClientHello has no server name (SNI); " + head_.host.text + " requires one";
    }
    Result<Host> host = canonical_host(*sni);
    if (!host) return "the TLS server name is invalid: " + host.error().message;
    if (*host != head_.host) {
      return "the TLS server name " + host->text + " does not match the CONNECT host " +
             head_.host.text;
    }
    return std::nullopt;
  }

  // A plain-HTTP request whose origin has sent no byte of a response yet.
  bool awaiting_response() const noexcept {
    return !head_.connect && bytes_down_ == 0 && response_pending_.empty();
  }

  std::chrono::milliseconds relay_timeout() const noexcept {
    const ServerOptions& o = server_->options;
    return awaiting_response() ? std::min(o.response_timeout, o.idle_timeout) : o.idle_timeout;
  }

  void start_relaying() noexcept {
    if (state_ == State::closing) return;  // a write failed on the way here
    state_ = State::relaying;
    ++server_->tunnels;
    last_activity_ = uv_now(&server_->loop);
    arm_timer(relay_timeout());
    uv_read_start(client(), on_alloc, on_read);
    uv_read_start(as_stream(&upstream_), on_alloc, on_read);
  }

  // ---- zero-copy relaying ----

  struct SpliceDirection {
    int from = -1, to = -1;  // the dup()ed sockets (owned by Splice)
    Fd pipe_read, pipe_write;
    size_t in_pipe = 0;
    bool eof = false;   // the source said EOF
    bool shut = false;  // the destination was shut down for writing
  };

  struct Splice {
    Fd client_fd, upstream_fd;
    SpliceDirection up, down;  // client -> upstream, upstream -> client
    uv_poll_t poll_client{}, poll_upstream{};
    int client_events = -1, upstream_events = -1;  // -1: not started
  };

  // Switches a copying tunnel to splice(2) when it qualifies (see the theory
  // of operation). False, and nothing changed, when it does not.
  bool start_splicing() noexcept {
    // Plain HTTP stays on the copy path: its client bytes are counted.
    if (!server_->options.splice || !head_.connect || client_eof_ || upstream_eof_ ||
        client_paused_ || upstream_paused_ ||
        bytes_up_ + bytes_down_ < server_->options.splice_after ||
        uv_stream_get_write_queue_size(client()) != 0 ||
        uv_stream_get_write_queue_size(as_stream(&upstream_)) != 0 || !server_->fds_to_spare(4)) {
      return false;
    }
    uv_os_fd_t client_os = -1, upstream_os = -1;
    if (uv_fileno(as_handle(client()), &client_os) != 0 ||
        uv_fileno(as_handle(&upstream_), &upstream_os) != 0) {
      return false;
    }
    auto sp = std::make_unique<Splice>();
    int up_pipe[2], down_pipe[2];
    sp->client_fd.reset(::fcntl(client_os, F_DUPFD_CLOEXEC, 0));
    sp->upstream_fd.reset(::fcntl(upstream_os, F_DUPFD_CLOEXEC, 0));
    if (!sp->client_fd.valid() || !sp->upstream_fd.valid()) return false;
    if (::pipe2(up_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    sp->up.pipe_read.reset(up_pipe[0]);
    sp->up.pipe_write.reset(up_pipe[1]);
    if (::pipe2(down_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    sp->down.pipe_read.reset(down_pipe[0]);
    sp->down.pipe_write.reset(down_pipe[1]);
    if (uv_poll_init_socket(&server_->loop, &sp->poll_client, sp->client_fd.get()) != 0)
      return false;
    if (uv_poll_init_socket(&server_->loop, &sp->poll_upstream, sp->upstream_fd.get()) != 0) {
      // The client poll is initialised: its memory (sp) must outlive its close.
      sp->poll_client.data = sp.get();
      uv_close(as_handle(&sp.release()->poll_client),
               [](uv_handle_t* h) { delete static_cast<Splice*>(h->data); });
      return false;
    }
    sp->poll_client.data = this;
    sp->poll_upstream.data = this;
    sp->up.from = sp->client_fd.get();
    sp->up.to = sp->upstream_fd.get();
    sp->down.from = sp->upstream_fd.get();
    sp->down.to = sp->client_fd.get();
    splice_ = std::move(sp);
    ++server_->spliced;
    ++server_->spliced_total;
    pending_ += 2;  // the two polls; the stream handles close below
    uv_close(as_handle(client()), on_closed);
    uv_close(as_handle(&upstream_), on_closed);
    upstream_closed_ = true;
    pump_splice();
    return true;
  }

  static void on_poll(uv_poll_t* p, int status, int) noexcept {
    auto* c = static_cast<Connection*>(p->data);
    if (c->state_ != State::relaying) return;
    if (status < 0) {
      // libuv reports a socket error as UV_EBADF: name the side and its error.
      const bool client_side = p == &c->splice_->poll_client;
      const int error = socket_error(as_handle(p));
      return c->relay_failed(client_side,
                             std::string(client_side ? "client " : "server ") +
                                 (error != 0 ? std::strerror(error) : uv_strerror(status)));
    }
    c->pump_splice();
  }

  // Moves what can move now in one direction. False on an error (closed).
  bool pump_direction(SpliceDirection& d, bool to_client) noexcept {
    constexpr size_t kChunk = 1 << 20;
    while (true) {
      if (d.in_pipe > 0) {
        const ssize_t n = ::splice(d.pipe_read.get(), nullptr, d.to, nullptr, d.in_pipe,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) return true;  // wait until the destination drains
          relay_failed(to_client, std::string("write to the ") + (to_client ? "client" : "server") +
                                      " failed: " + std::strerror(errno));
          return false;
        }
        d.in_pipe -= static_cast<size_t>(n);
        (to_client ? bytes_down_ : bytes_up_) += static_cast<uint64_t>(n);
        last_activity_ = uv_now(&server_->loop);
        if (d.in_pipe > 0) continue;
      }
      if (d.eof) {
        if (!d.shut) {
          ::shutdown(d.to, SHUT_WR);  // after the last byte: half-close passed on
          d.shut = true;
        }
        return true;
      }
      const ssize_t n = ::splice(d.from, nullptr, d.pipe_write.get(), nullptr, kChunk,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return true;  // nothing to read (the pipe is empty here)
        relay_failed(!to_client,
                     std::string(to_client ? "server " : "client ") + std::strerror(errno));
        return false;
      }
      if (n == 0) {
        d.eof = true;
        continue;
      }
      d.in_pipe += static_cast<size_t>(n);
      last_activity_ = uv_now(&server_->loop);
    }
  }

  void pump_splice() noexcept {
    Splice& sp = *splice_;
    if (!pump_direction(sp.up, false) || !pump_direction(sp.down, true)) return;
    if (sp.up.shut && sp.down.shut) return close();
    // Read a source while its pipe is empty; wait for the destination while not.
    const int client_events = (sp.up.in_pipe == 0 && !sp.up.eof ? UV_READABLE : 0) |
                              (sp.down.in_pipe > 0 ? UV_WRITABLE : 0);
    const int upstream_events = (sp.down.in_pipe == 0 && !sp.down.eof ? UV_READABLE : 0) |
                                (sp.up.in_pipe > 0 ? UV_WRITABLE : 0);
    set_poll(sp.poll_client, sp.client_events, client_events);
    set_poll(sp.poll_upstream, sp.upstream_events, upstream_events);
  }

  static void set_poll(uv_poll_t& poll, int& current, int wanted) noexcept {
    if (wanted == current) return;
    current = wanted;
    if (wanted == 0) {
      uv_poll_stop(&poll);
    } else {
      uv_poll_start(&poll, wanted, on_poll);
    }
  }

  // ---- relaying ----

  uv_stream_t* stream_to(bool to_client) noexcept {
    return to_client ? client() : as_stream(&upstream_);
  }

  // Passes bytes on: what the kernel takes now is done; only the rest is
  // copied and queued (uv_try_write refuses while writes are queued, so the
  // order is kept).
  void forward(std::string_view bytes, bool to_client) noexcept {
    uv_stream_t* to = stream_to(to_client);
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
    const int written = uv_try_write(to, &buf, 1);
    if (written < 0 && written != UV_EAGAIN) {
      return relay_failed(to_client, std::string("write to the ") +
                                         (to_client ? "client" : "server") +
                                         " failed: " + uv_strerror(written));
    }
    const size_t done = written > 0 ? static_cast<size_t>(written) : 0;
    (to_client ? bytes_down_ : bytes_up_) += done;
    if (done == bytes.size()) {
      start_splicing();  // a bulk transfer with nothing queued moves to splice(2)
      return;
    }
    auto w = std::make_unique<WriteReq>();
    const size_t rest = bytes.size() - done;
    w->bytes.reset(new (std::nothrow) char[rest]);
    if (!w->bytes) return close_with("error", status_, "out of memory");
    std::memcpy(w->bytes.get(), bytes.data() + done, rest);
    w->conn = this;
    w->to_client = to_client;
    const uv_buf_t queued = uv_buf_init(w->bytes.get(), static_cast<unsigned>(rest));
    submit(std::move(w), queued, rest, true);
  }

  void send(bool to_client, std::string text, bool count = true) noexcept {
    if (text.empty()) return;
    auto w = std::make_unique<WriteReq>();
    w->text = std::move(text);
    w->conn = this;
    w->to_client = to_client;
    const uv_buf_t buf = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
    const size_t n = w->text.size();
    submit(std::move(w), buf, count ? n : 0, state_ == State::relaying);
  }

  void submit(std::unique_ptr<WriteReq> w, uv_buf_t buf, size_t counted,
              bool apply_backpressure) noexcept {
    const bool to_client = w->to_client;
    uv_stream_t* to = stream_to(to_client);
    w->req.data = w.get();
    const int r = uv_write(&w->req, to, &buf, 1, on_written);
    if (r != 0) {
      close_with("error", status_, std::string("write failed: ") + uv_strerror(r));
      return;  // w is freed here: libuv did not take it
    }
    w.release();  // on_written adopts it
    (to_client ? bytes_down_ : bytes_up_) += counted;
    if (!apply_backpressure) return;
    if (uv_stream_get_write_queue_size(to) > server_->options.high_water) {
      bool& paused = to_client ? upstream_paused_ : client_paused_;
      if (!paused) {
        paused = true;
        uv_read_stop(to_client ? as_stream(&upstream_) : client());
      }
    }
  }

  // A write to `to_client`'s side finished: resume its source if it drained.
  void maybe_resume(bool to_client) noexcept {
    if (state_ != State::relaying) return;
    bool& paused = to_client ? upstream_paused_ : client_paused_;
    const bool source_ended = to_client ? upstream_eof_ : client_eof_;
    if (!paused || source_ended) return;
    if (uv_stream_get_write_queue_size(stream_to(to_client)) <= server_->options.low_water) {
      paused = false;
      uv_read_start(to_client ? as_stream(&upstream_) : client(), on_alloc, on_read);
    }
  }

  // EOF or error from one side while relaying.
  void source_ended(bool from_client, int error) noexcept {
    // libuv reports a hang-up after a partial read as EOF without reading
    // on, so a reset can arrive looking like an orderly end: ask the socket.
    if (error == UV_EOF) {
      const int pending = socket_error(from_client ? as_handle(client()) : as_handle(&upstream_));
      if (pending != 0) error = uv_translate_sys_error(pending);
    }
    if (error != UV_EOF) {
      return relay_failed(from_client,
                          std::string(from_client ? "client " : "server ") + uv_strerror(error));
    }
    if (!from_client && awaiting_response()) {
      return reply(
          502, authority_text(head_.host, head_.port) + " closed the connection without a response",
          "error");
    }
    if (!from_client && !response_pending_.empty()) {  // a response cut inside its head
      const std::string rest = std::move(response_pending_);
      response_pending_.clear();
      forward(rest, true);
      if (state_ != State::relaying) return;
    }
    bool& eof = from_client ? client_eof_ : upstream_eof_;
    eof = true;
    uv_read_stop(from_client ? client() : as_stream(&upstream_));
    uv_shutdown_t* req = from_client ? &shutdown_upstream_ : &shutdown_client_;
    req->data = this;
    if (uv_shutdown(req, stream_to(!from_client), on_shutdown) != 0) close();
  }

  // ---- replies ----

  void reply(int status, const std::string& reason, const char* decision) noexcept {
    set_outcome(decision, status, reason);
    uv_read_stop(client());
    if (state_ == State::relaying) --server_->tunnels;  // a plain request the origin failed
    state_ = State::replying;
    arm_timer(std::chrono::milliseconds(5000));  // a client that never reads is cut
    const std::string body = printable(reason, 400, /*escape_quotes=*/false) + "\n";
    std::string text = "HTTP/1.1 " + std::to_string(status) + " " + status_phrase(status) +
                       "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n";
    if (status == 407) text += "Proxy-Authenticate: Basic realm=\"para\"\r\n";
    text += "\r\n" + body;
    auto w = std::make_unique<WriteReq>();
    w->text = std::move(text);
    w->conn = this;
    w->to_client = true;
    w->final_reply = true;
    const uv_buf_t buf = uv_buf_init(w->text.data(), static_cast<unsigned>(w->text.size()));
    submit(std::move(w), buf, 0, false);
  }

  Server::Impl* server_;
  Listener* listener_;  // borrowed: listeners live until the server is destroyed
  AnyStream client_{};
  uv_tcp_t upstream_{};
  uv_timer_t timer_{};
  uv_work_t resolve_{};  // resolve_exactly() on the threadpool
  std::string lookup_host_;
  int lookup_status_ = 0, lookup_errno_ = 0;
  addrinfo* lookup_result_ = nullptr;
  uv_connect_t connect_{};
  uv_shutdown_t shutdown_client_{}, shutdown_upstream_{};
  std::unique_ptr<Splice> splice_;  // set once the tunnel relays with splice(2)
  int pending_ = 0;                 // open handles + an in-flight lookup
  State state_ = State::reading_head;
  bool resolving_ = false;
  bool upstream_reopening_ = false;
  bool upstream_closed_ = false;
  bool client_eof_ = false, upstream_eof_ = false;
  bool response_heads_done_ = true;  // false until a plain-HTTP response head passed
  std::string response_pending_;     // the origin's bytes until then (bounded)
  bool reset_client_ = false, reset_upstream_ = false;  // RST instead of FIN on close
  bool client_shut_ = false, upstream_shut_ = false;
  bool client_paused_ = false, upstream_paused_ = false;

  std::string head_buf_;  // the request head, then the ClientHello (both bounded)
  RequestHead head_;
  Decision decision_rule_;
  std::vector<IpAddress> candidates_;
  size_t next_candidate_ = 0;
  std::string last_connect_error_;

  SystemTime start_time_;
  uint64_t started_ms_ = 0, last_activity_ = 0;
  uint64_t bytes_up_ = 0, bytes_down_ = 0;
  uint64_t request_body_left_ = 0;  // plain HTTP: body bytes the client may still send
  std::string decision_, reason_, address_;
  int status_ = 0;
};

// ---- Server::Impl ----

void Server::Impl::forget(Connection* c) noexcept {
  connections.erase(c);
  active = connections.size();
  maybe_finish_stop();
}

const std::vector<IpAddress>& Server::Impl::own_addresses() noexcept {
  // Interfaces change rarely; re-read at most every 5 s.
  const uint64_t now = uv_now(&loop);
  if (!own_read || now - own_read_at > 5000) {
    own = own_interface_addresses();
    own_read = true;
    own_read_at = now;
  }
  return own;
}

void Server::Impl::maybe_finish_stop() noexcept {
  if (!stopping || finished || !connections.empty()) return;
  finished = true;
  {
    std::lock_guard<std::mutex> lock(async_mutex);
    async_open = false;
    uv_close(as_handle(&stop_async), nullptr);
  }
  uv_close(as_handle(&grace_timer), nullptr);
  for (auto& s : signals) uv_close(as_handle(s.get()), nullptr);
}

void Server::Impl::on_stop() noexcept {
  if (stopping) return;
  stopping = true;
  for (auto& l : listeners) {
    if (!l->open) continue;
    l->open = false;
    uv_close(as_handle(&l->handle.tcp), nullptr);
    if (l->is_unix) ::unlink(l->unix_path.c_str());
  }
  const std::vector<Connection*> all(connections.begin(), connections.end());
  const bool grace = options.stop_grace.count() > 0;
  for (Connection* c : all) {
    if (!grace || !c->relaying()) c->close_for_stop();
  }
  if (!connections.empty()) {
    uv_timer_start(
        &grace_timer,
        [](uv_timer_t* t) {
          auto* impl = static_cast<Server::Impl*>(t->data);
          const std::vector<Connection*> rest(impl->connections.begin(), impl->connections.end());
          for (Connection* c : rest) c->close_for_stop();
        },
        static_cast<uint64_t>(options.stop_grace.count()), 0);
  }
  maybe_finish_stop();
}

namespace {

void on_new_connection(uv_stream_t* server_handle, int status) noexcept {
  auto* l = static_cast<Listener*>(server_handle->data);
  Server::Impl* s = l->server;
  if (status < 0) {
    log::warn("proxy") << "accept on " << l->endpoint << ": " << uv_strerror(status);
    return;
  }
  if (s->stopping || s->connections.size() >= s->options.max_connections) {
    // Accept and drop, so the backlog does not fill with clients we will not serve.
    ++s->refused_over_cap;
    auto* h = new AnyStream;
    int r = l->is_unix ? uv_pipe_init(&s->loop, &h->pipe, 0) : uv_tcp_init(&s->loop, &h->tcp);
    if (r != 0) {
      delete h;
      return;
    }
    uv_accept(server_handle, as_stream(&h->tcp));
    uv_close(as_handle(&h->tcp), [](uv_handle_t* p) { delete reinterpret_cast<AnyStream*>(p); });
    return;
  }
  auto* c = new Connection(s, l);
  if (c->init_client() != 0) {
    delete c;
    return;
  }
  s->connections.insert(c);
  s->active = s->connections.size();
  ++s->accepted;
  if (uv_accept(server_handle, c->client()) != 0) {
    c->close();
    return;
  }
  c->start();
}

bool is_loopback_literal(const IpAddress& ip) {
  return classify(ip) == AddressClass::loopback;
}

}  // namespace

// ---- Server ----

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& s = *impl_;
  uv_loop_init(&s.loop);
  uv_async_init(&s.loop, &s.stop_async,
                [](uv_async_t* a) { static_cast<Server::Impl*>(a->data)->on_stop(); });
  s.stop_async.data = &s;
  s.async_open = true;
  uv_timer_init(&s.loop, &s.grace_timer);
  s.grace_timer.data = &s;
  for (int signum : s.options.stop_signals) {
    auto h = std::make_unique<uv_signal_t>();
    uv_signal_init(&s.loop, h.get());
    h->data = &s;
    uv_signal_start(
        h.get(),
        [](uv_signal_t* sig, int num) {
          log::info("proxy") << "signal " << num << ": stopping";
          static_cast<Server::Impl*>(sig->data)->on_stop();
        },
        signum);
    s.signals.push_back(std::move(h));
  }
}

Server::~Server() {
  Impl& s = *impl_;
  if (!s.finished) {
    s.on_stop();
    // Connections still in their grace period are closed now.
    const std::vector<Connection*> rest(s.connections.begin(), s.connections.end());
    for (Connection* c : rest) c->close_for_stop();
  }
  uv_run(&s.loop, UV_RUN_DEFAULT);
  const int r = uv_loop_close(&s.loop);
  assert(r == 0 && "a libuv handle leaked");
  (void)r;
}

Result<std::string> Server::listen(const ListenerOptions& options) {
  Impl& s = *impl_;
  if (!options.policy) return fail(Errc::invalid_argument, "a listener needs a policy");
  if (s.stopping) return fail(Errc::invalid_argument, "the proxy is stopping");
  auto l = std::make_unique<Listener>();
  l->server = &s;
  l->options = options;
  if (options.log_path.empty()) {
    l->log = DecisionLog::to_fd(STDERR_FILENO);
  } else {
    Result<std::unique_ptr<DecisionLog>> log = DecisionLog::open_file(options.log_path);
    if (!log) return fail(log.error());
    l->log = std::move(*log);
  }
  constexpr int kBacklog = 4096;
  const std::string& ep = options.endpoint;
  if (ep.starts_with("unix:")) {
    l->is_unix = true;
    l->unix_path = ep.substr(5);
    const std::string& path = l->unix_path;
    if (path.empty() || path.front() != '/') {
      return fail(Errc::invalid_argument, "unix socket path must be absolute: '" + ep + "'");
    }
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return fail(Errc::invalid_argument, "unix socket path is longer than " +
                                              std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                                              " bytes: " + path);
    }
    const std::string parent = std::filesystem::path(path).parent_path().string();
    if (auto made = make_private_dirs(parent); !made) return fail(made.error());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return fail(Errc::already_exists, path + " exists and is not a socket; remove it first");
      }
      // A socket file: live if something accepts on it, else stale.
      const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::memcpy(sa.sun_path, path.c_str(), path.size());
      const bool live =
          probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      if (probe >= 0) ::close(probe);
      if (live) return fail(Errc::already_exists, "another process is listening on " + path);
      ::unlink(path.c_str());
    }
    uv_pipe_init(&s.loop, &l->handle.pipe, 0);
    l->handle.pipe.data = l.get();
    int r = uv_pipe_bind(&l->handle.pipe, path.c_str());
    if (r == 0 && ::chmod(path.c_str(), 0600) != 0) r = -errno;
    if (r == 0) r = uv_listen(as_stream(&l->handle.pipe), kBacklog, on_new_connection);
    if (r != 0) {
      uv_close(as_handle(&l->handle.pipe), nullptr);
      uv_run(&s.loop, UV_RUN_NOWAIT);
      return fail(Errc::io, "cannot listen on " + path + ": " + uv_strerror(r), -r);
    }
    l->endpoint = ep;
  } else {
    // split_authority refuses port 0, which a listener may ask for.
    std::string_view text = ep;
    const bool any_port = text.ends_with(":0");
    if (any_port) text.remove_suffix(2);
    Result<Authority> a = split_authority(text);
    if (!a || a->port.has_value() == any_port) {
      return fail(Errc::invalid_argument,
                  "listen endpoint '" + ep + "' is not unix:/path or 127.0.0.1:PORT");
    }
    std::string_view host = a->host;
    const std::optional<IpAddress> ip = parse_ip(host);
    if (!ip) {
      return fail(Errc::invalid_argument,
                  "listen address '" + std::string(host) + "' must be a numeric loopback address");
    }
    if (!is_loopback_literal(*ip)) {
      return fail(Errc::invalid_argument, "the proxy listens on loopback only, not on '" +
                                              std::string(host) + "' (it would be an open proxy)");
    }
    const int port = a->port.value_or(0);
    sockaddr_storage ss{};
    const std::string host_text = to_string(*ip);
    if (ip->family == AF_INET) {
      uv_ip4_addr(host_text.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss));
    } else {
      uv_ip6_addr(host_text.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss));
    }
    uv_tcp_init(&s.loop, &l->handle.tcp);
    l->handle.tcp.data = l.get();
    int r = uv_tcp_bind(&l->handle.tcp, reinterpret_cast<sockaddr*>(&ss),
                        ip->family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (r == 0) r = uv_listen(as_stream(&l->handle.tcp), kBacklog, on_new_connection);
    if (r != 0) {
      uv_close(as_handle(&l->handle.tcp), nullptr);
      uv_run(&s.loop, UV_RUN_NOWAIT);
      return fail(Errc::io, "cannot listen on " + ep + ": " + uv_strerror(r), -r);
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&l->handle.tcp, reinterpret_cast<sockaddr*>(&bound), &len);
    const auto* sa = reinterpret_cast<const sockaddr*>(&bound);
    const uint16_t real_port =
        ntohs(sa->sa_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(sa)->sin_port
                                       : reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
    l->endpoint = (ip->family == AF_INET6 ? "[" + host_text + "]" : host_text) + ":" +
                  std::to_string(real_port);
  }
  l->open = true;
  std::string endpoint = l->endpoint;
  s.listeners.push_back(std::move(l));
  return endpoint;
}

void Server::run() {
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
}

void Server::stop() {
  std::lock_guard<std::mutex> lock(impl_->async_mutex);
  if (impl_->async_open) uv_async_send(&impl_->stop_async);
}

ServerStats Server::stats() const {
  return {.accepted = impl_->accepted.load(),
          .refused_over_cap = impl_->refused_over_cap.load(),
          .active = impl_->active.load(),
          .tunnels = impl_->tunnels.load(),
          .spliced = impl_->spliced_total.load()};
}

uint64_t raise_open_file_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  // Root may also raise the hard limit; others get up to theirs.
  constexpr rlim_t kWanted = 65536;
  if (rl.rlim_max < kWanted) {
    rlimit more{kWanted, kWanted};
    if (::setrlimit(RLIMIT_NOFILE, &more) == 0) return kWanted;
  }
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace para::proxy
