#include "mcp/http_transport.h"

// Theory of operation
//
// cpp-httplib serves each connection on a thread of its pool. A POST is
// parsed, checked and handed to the session's Session::receive() with an
// HttpReply. If the answer came back before receive() returned and nothing
// else was sent, it is a plain JSON body. Otherwise the reply is bound to a
// new SseStream (mcp/sse_stream.h) and the HTTP response becomes a chunked
// SSE stream whose content provider (Pump) waits on that SseStream: the
// worker thread running the handler pushes progress/logs/the response into
// the SseStream; the connection thread writes them out. Streams outlive
// connections, so a dropped connection loses nothing: the client resumes
// with GET + Last-Event-ID. Pumps wake every kPollInterval to notice a dead
// peer (is_writable() peeks the socket), to send keep-alive comments, and
// to stop with the transport.
//
// Ownership: the sessions map owns HttpSessions; an HttpSession owns its
// mcp::Session and its SseStreams; a Pump owns a reference to its
// HttpSession and SseStream until cpp-httplib calls its releaser.

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/fs.h"
#include "core/json_input.h"
#include "core/log.h"
#include "mcp/batch.h"
#include "mcp/http_policy.h"
#include "mcp/jsonrpc.h"
#include "mcp/local_peer.h"
#include "mcp/session.h"
#include "mcp/sse_stream.h"

namespace para::mcp {

namespace {

using nlohmann::json;
namespace rpc = jsonrpc;
namespace policy = http_policy;
using Clock = std::chrono::steady_clock;

// The charset parameter also keeps cpp-httplib 0.11.4 from brotli/gzip
// compressing every small JSON body (it compresses exactly
// "application/json"), which costs more than it saves on loopback.
constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr std::chrono::milliseconds kPollInterval{200};
constexpr size_t kMaxStreams = 128;  // per session, kept for resumption

std::string clip(const std::string& s) {
  return s.size() > 100 ? s.substr(0, 100) + "..." : s;
}

void error_reply(httplib::Response& res, int status, const std::string& message,
                 int code = rpc::kConnectionClosed, const json& id = nullptr) {
  res.status = status;
  res.set_content(rpc::dump(rpc::error_response(id, code, message)), kJsonType);
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

/// One MCP session over HTTP.
struct HttpSession {
  std::string id;
  std::shared_ptr<Session> mcp;
  mutable std::mutex mutex;
  std::map<uint64_t, std::shared_ptr<SseStream>> streams;  // 0 = standalone
  uint64_t next_stream = 1;
  Clock::time_point last_active = Clock::now();
  int busy = 0;  // HTTP requests being handled + attached connections

  std::shared_ptr<SseStream> stream(uint64_t sid) const {
    std::lock_guard lock(mutex);
    auto it = streams.find(sid);
    return it == streams.end() ? nullptr : it->second;
  }
  std::shared_ptr<SseStream> new_stream() {
    std::lock_guard lock(mutex);
    // Streams whose client vanished before reading the end stay for a
    // resumption; bound how many, dropping the oldest finished ones.
    for (auto it = streams.begin(); streams.size() >= kMaxStreams && it != streams.end();) {
      if (it->first != 0 && !it->second->attached() && it->second->finished()) {
        it = streams.erase(it);
      } else {
        ++it;
      }
    }
    auto s = std::make_shared<SseStream>(next_stream++);
    streams[s->id()] = s;
    return s;
  }
  void forget_if_complete(const std::shared_ptr<SseStream>& s) {
    std::lock_guard lock(mutex);
    if (s->id() != 0 && s->complete() && !s->attached()) streams.erase(s->id());
  }
  void enter() {
    std::lock_guard lock(mutex);
    ++busy;
    last_active = Clock::now();
  }
  void leave() {
    std::lock_guard lock(mutex);
    --busy;
    last_active = Clock::now();
  }
  bool idle_since(Clock::time_point cutoff) const {
    std::lock_guard lock(mutex);
    return busy == 0 && last_active < cutoff && mcp->in_flight() == 0;
  }
  Clock::time_point active_at() const {
    std::lock_guard lock(mutex);
    return last_active;
  }
  /// Ends the session: cancels its requests and ends its streams.
  void close() {
    mcp->close();
    std::lock_guard lock(mutex);
    for (auto& [sid, s] : streams) {
      s->finish();
      s->shutdown();
    }
  }
};

/// The standalone Outbound of a session: its GET stream.
class StreamOutbound : public Outbound {
 public:
  explicit StreamOutbound(std::shared_ptr<SseStream> stream) : stream_(std::move(stream)) {}
  void send(const json& message) override { stream_->push(rpc::dump(message)); }
  void finish(std::optional<json>) override {}

 private:
  std::shared_ptr<SseStream> stream_;
};

/// The Outbound of one POSTed request: buffers until the transport decides
/// between a JSON body and an SSE stream, then forwards to the stream.
class HttpReply : public Outbound {
 public:
  void send(const json& message) override {
    std::lock_guard lock(mutex_);
    if (stream_) {
      stream_->push(rpc::dump(message));
    } else {
      early_.push_back(message);
    }
  }
  void finish(std::optional<json> response) override {
    const bool result = response && response->contains("result");
    finish_serialized(response ? std::optional(rpc::dump(*response)) : std::nullopt, result);
  }
  void finish_text(std::string response) override { finish_serialized(std::move(response), true); }
  void close_connection() override {
    std::lock_guard lock(mutex_);
    if (stream_) {
      stream_->drop_connection();
    } else {
      drop_ = true;
    }
  }

  struct Decision {
    std::shared_ptr<SseStream> stream;  // null: answer `response` as JSON (202 if none)
    std::optional<std::string> response;
    bool result = false;  // `response` is a success
  };
  /// Called once, after Session::receive() returned.
  Decision decide(HttpSession& session) {
    std::lock_guard lock(mutex_);
    if (finished_ && early_.empty()) return Decision{nullptr, std::move(response_), result_};
    stream_ = session.new_stream();
    for (const json& m : early_) stream_->push(rpc::dump(m));
    early_.clear();
    if (finished_) {
      if (response_) stream_->push(std::move(*response_));
      stream_->finish();
    }
    if (drop_) stream_->drop_connection();
    return Decision{stream_, std::nullopt, false};
  }

 private:
  void finish_serialized(std::optional<std::string> response, bool result) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    if (stream_) {
      if (response) stream_->push(std::move(*response));
      stream_->finish();
    } else {
      response_ = std::move(response);
      result_ = result;
    }
  }

  std::mutex mutex_;
  std::vector<json> early_;
  std::optional<std::string> response_;  // serialized
  bool result_ = false;
  bool finished_ = false;
  bool drop_ = false;
  std::shared_ptr<SseStream> stream_;
};

}  // namespace

struct HttpTransport::Impl {
  Impl(Server& s, HttpOptions o) : server(s), opts(std::move(o)) {}

  Server& server;
  const HttpOptions opts;
  httplib::Server http;
  std::vector<std::string> allowed_hosts;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> get_streams{0};  // GET streams being served
  PeerChecker peers;

  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions;

  std::mutex reaper_mutex;
  std::condition_variable reaper_cv;
  std::thread reaper;

  /// Writes one SSE connection of a stream; cpp-httplib calls pump() until
  /// it returns false or calls sink.done().
  struct Pump {
    Impl* impl;
    std::shared_ptr<HttpSession> session;
    std::shared_ptr<SseStream> stream;
    uint64_t cursor = 0;
    bool prime = false;
    bool counted = false;  // a GET stream, in get_streams
    Clock::time_point last_write = Clock::now();

    bool write(httplib::DataSink& sink, const std::string& text) {
      last_write = Clock::now();
      return sink.write(text.data(), text.size());
    }

    bool pump(httplib::DataSink& sink) {
      if (prime) {
        // SEP-1699 priming event: an id to resume from and the retry delay.
        prime = false;
        return write(sink, "id: " + stream->event_id(cursor) + "\nretry: " +
                               std::to_string(impl->opts.retry_interval.count()) + "\ndata: \n\n");
      }
      SseStream::Next n = stream->next(cursor, kPollInterval);
      switch (n.kind) {
        case SseStream::Next::Kind::event:
          if (!write(sink, "id: " + stream->event_id(n.seq) + "\nevent: message\ndata: " + n.data +
                               "\n\n")) {
            return false;
          }
          stream->delivered(n.seq);
          cursor = n.seq;
          return true;
        case SseStream::Next::Kind::end:
        case SseStream::Next::Kind::dropped:
          sink.done();
          return true;
        case SseStream::Next::Kind::idle:
          break;
      }
      if (impl->stopping) {
        sink.done();
        return true;
      }
      if (!sink.is_writable()) return false;  // the client went away
      if (Clock::now() - last_write >= impl->opts.keepalive_interval) {
        return write(sink, ": keepalive\n\n");
      }
      return true;
    }

    void release() {
      if (counted) --impl->get_streams;
      stream->detach();
      session->leave();
      session->forget_if_complete(stream);
    }
  };

  // Streams `stream` (already attached) as the body of `res`.
  void serve_stream(httplib::Response& res, const std::shared_ptr<HttpSession>& hs,
                    const std::shared_ptr<SseStream>& stream, uint64_t after, bool prime,
                    bool counted = false) {
    hs->enter();
    auto pump = std::make_shared<Pump>(Pump{this, hs, stream, after, prime, counted, Clock::now()});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Mcp-Session-Id", hs->id);
    res.set_chunked_content_provider(
        "text/event-stream", [pump](size_t, httplib::DataSink& sink) { return pump->pump(sink); },
        [pump](bool) { pump->release(); });
  }

  static bool primes(const HttpSession& hs) {
    // Priming events (empty data) confuse clients older than 2025-11-25.
    return hs.mcp->protocol_version() >= std::string("2025-11-25");
  }

  bool admit(const httplib::Request& req, httplib::Response& res) {
    if (opts.check_peers) {
      const PeerCheck peer =
          peers.check(req.remote_addr, req.remote_port, req.local_addr, req.local_port);
      if (!peer_admitted(peer)) {
        log::warn("mcp") << "refused an HTTP request from " << req.remote_addr << ":"
                         << req.remote_port << ": " << peer.detail;
        error_reply(res, 403,
                    "Forbidden: para-mcp-server answers only processes of its own user outside "
                    "sandboxes and containers, and " +
                        peer.detail +
                        "; to serve such clients, restart the server with --no-peer-check and "
                        "an --auth-token");
        return false;
      }
    }
    const std::string host = req.get_header_value("Host");
    if (!policy::host_allowed(host, allowed_hosts)) {
      error_reply(res, 403,
                  "Forbidden: Host '" + clip(host) +
                      "' is not allowed (DNS rebinding protection); use the address the server "
                      "listens on, or start it with --allowed-host");
      return false;
    }
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      if (!policy::origin_allowed(origin, allowed_hosts, opts.allowed_origins)) {
        error_reply(res, 403,
                    "Forbidden: Origin '" + clip(origin) +
                        "' is not allowed; start the server with --allowed-origin to allow it");
        return false;
      }
    }
    if (!opts.auth_token.empty() &&
        !policy::bearer_matches(req.get_header_value("Authorization"), opts.auth_token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      error_reply(res, 401,
                  "Unauthorized: send the header 'Authorization: Bearer <token>' with the token "
                  "the server was started with");
      return false;
    }
    return true;
  }

  bool version_ok(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("MCP-Protocol-Version")) return true;  // then 2025-03-26 is assumed
    const std::string v = req.get_header_value("MCP-Protocol-Version");
    if (is_supported_protocol_version(v)) return true;
    std::string list;
    for (const std::string& s : supported_protocol_versions())
      list += (list.empty() ? "" : ", ") + s;
    error_reply(res, 400,
                "Bad Request: Unsupported protocol version: " + clip(v) +
                    " (supported versions: " + list + ")");
    return false;
  }

  std::shared_ptr<HttpSession> find(const std::string& id) const {
    std::lock_guard lock(mutex);
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }

  // Whether the request's session negotiated the one MCP version with
  // JSON-RPC batches (mcp/batch.h).
  bool takes_batches(const httplib::Request& req) const {
    auto hs = find(req.get_header_value("Mcp-Session-Id"));
    return hs && mcp::takes_batches(hs->mcp->protocol_version());
  }

  // The session named by the request, or an error reply (400/404).
  std::shared_ptr<HttpSession> session_of(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.get_header_value("Mcp-Session-Id");
    if (id.empty()) {
      error_reply(res, 400,
                  "Bad Request: the Mcp-Session-Id header is required; send initialize first to "
                  "get one");
      return nullptr;
    }
    auto hs = find(id);
    if (!hs) {
      error_reply(res, 404,
                  "Not Found: session '" + clip(id) +
                      "' does not exist (it ended or expired); send initialize to start a new one");
    }
    return hs;
  }

  std::shared_ptr<HttpSession> create_session() {
    std::shared_ptr<HttpSession> evicted;
    auto hs = std::make_shared<HttpSession>();
    {
      std::lock_guard lock(mutex);
      if (sessions.size() >= opts.max_sessions) {
        // Make room: the least recently active idle session goes.
        for (const auto& [id, s] : sessions) {
          if (!s->idle_since(Clock::now())) continue;
          if (!evicted || s->active_at() < evicted->active_at()) evicted = s;
        }
        if (!evicted) return nullptr;
        sessions.erase(evicted->id);
      }
      hs->id = random_hex(16);
      auto standalone = std::make_shared<SseStream>(0);
      hs->streams[0] = standalone;
      hs->mcp = server.create_session(std::make_shared<StreamOutbound>(standalone));
      sessions[hs->id] = hs;
    }
    if (evicted) {
      log::info("mcp") << "session limit reached: evicted the idle session " << evicted->id;
      evicted->close();
    }
    return hs;
  }

  void remove(const std::shared_ptr<HttpSession>& hs) {
    {
      std::lock_guard lock(mutex);
      sessions.erase(hs->id);
    }
    hs->close();
  }

  void on_post(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!policy::is_json_content_type(req.get_header_value("Content-Type"))) {
      error_reply(res, 415, "Unsupported Media Type: Content-Type must be application/json");
      return;
    }
    const std::string accept = req.get_header_value("Accept");
    if (!policy::accepts(accept, "application/json") ||
        !policy::accepts(accept, "text/event-stream")) {
      error_reply(res, 406,
                  "Not Acceptable: Client must accept both application/json and text/event-stream");
      return;
    }
    if (!version_ok(req, res)) return;
    const json message = parse_untrusted_json(req.body);
    if (message.is_discarded()) {
      error_reply(res, 400,
                  "Parse error: the body is not valid JSON, or nests deeper than " +
                      std::to_string(kMaxJsonDepth) + " levels",
                  rpc::kParseError);
      return;
    }
    const rpc::Classified c = rpc::classify(message);
    if (c.kind == rpc::Kind::invalid && !(message.is_array() && takes_batches(req))) {
      res.status = 400;
      res.set_content(rpc::dump(rpc::error_response(c.id, c.error)), kJsonType);
      return;
    }
    const bool initialize = c.kind == rpc::Kind::request && message["method"] == "initialize";
    std::shared_ptr<HttpSession> hs;
    if (initialize) {
      const std::string given = req.get_header_value("Mcp-Session-Id");
      if (!given.empty() && find(given)) {
        error_reply(res, 400,
                    "Invalid Request: this session is already initialized; send initialize "
                    "without Mcp-Session-Id to start a new session",
                    rpc::kInvalidRequest, c.id);
        return;
      }
      hs = create_session();
      if (!hs) {
        error_reply(res, 503,
                    "Service Unavailable: too many active sessions; end one (HTTP DELETE) or retry "
                    "later");
        return;
      }
    } else {
      hs = session_of(req, res);
      if (!hs) return;
    }

    hs->enter();
    auto reply = std::make_shared<HttpReply>();
    hs->mcp->receive(message, reply);
    HttpReply::Decision d = reply->decide(*hs);
    hs->leave();

    if (initialize) {
      const bool ok = !d.stream && d.response && d.result;
      if (!ok) remove(hs);
      if (ok) log::debug("mcp") << "HTTP session " << hs->id << " started";
    }
    if (!d.stream) {
      if (!d.response) {
        res.status = 202;
        return;
      }
      res.status = 200;
      // Not after a failed initialize: that session is gone already.
      if (!initialize || (d.result && !d.stream)) res.set_header("Mcp-Session-Id", hs->id);
      res.set_content(std::move(*d.response), kJsonType);
      return;
    }
    d.stream->attach();
    serve_stream(res, hs, d.stream, 0, primes(*hs));
  }

  void on_get(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!policy::accepts(req.get_header_value("Accept"), "text/event-stream")) {
      error_reply(res, 406, "Not Acceptable: Client must accept text/event-stream");
      return;
    }
    if (!version_ok(req, res)) return;
    auto hs = session_of(req, res);
    if (!hs) return;
    if (req.has_header("Last-Event-ID")) {
      const std::string last = req.get_header_value("Last-Event-ID");
      const auto parsed = SseStream::parse_event_id(last);
      auto stream = parsed ? hs->stream(parsed->first) : nullptr;
      if (!stream) {
        error_reply(res, 400,
                    "Bad Request: Last-Event-ID '" + clip(last) +
                        "' names no stream of this session; open a new stream without it");
        return;
      }
      if (!stream->attach()) {
        error_reply(res, 409, "Conflict: that stream is already being read on another connection");
        return;
      }
      serve_get_stream(res, hs, stream, parsed->second, false);
      return;
    }
    auto standalone = hs->stream(0);
    if (!standalone->attach()) {
      error_reply(res, 409,
                  "Conflict: only one standalone SSE stream (GET) is allowed per session");
      return;
    }
    serve_get_stream(res, hs, standalone, standalone->delivered_upto(), primes(*hs));
  }

  // serve_stream for a GET, within opts.max_get_streams (else 503).
  void serve_get_stream(httplib::Response& res, const std::shared_ptr<HttpSession>& hs,
                        const std::shared_ptr<SseStream>& stream, uint64_t after, bool prime) {
    if (++get_streams > opts.max_get_streams) {
      --get_streams;
      stream->detach();
      error_reply(res, 503,
                  "Service Unavailable: too many SSE streams are open (" +
                      std::to_string(opts.max_get_streams) +
                      "); close one or retry later. POST requests are still served.");
      return;
    }
    serve_stream(res, hs, stream, after, prime, /*counted=*/true);
  }

  void on_delete(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!version_ok(req, res)) return;
    auto hs = session_of(req, res);
    if (!hs) return;
    remove(hs);
    log::debug("mcp") << "HTTP session " << hs->id << " deleted by the client";
    res.status = 200;
  }

  void reap() {
    std::unique_lock lock(reaper_mutex);
    while (!stopping) {
      const auto step = std::min<std::chrono::milliseconds>(
          std::chrono::seconds(1),
          std::chrono::duration_cast<std::chrono::milliseconds>(opts.session_idle_timeout) / 2 +
              std::chrono::milliseconds(1));
      reaper_cv.wait_for(lock, step);
      if (stopping) break;
      const auto cutoff = Clock::now() - opts.session_idle_timeout;
      std::vector<std::shared_ptr<HttpSession>> expired;
      {
        std::lock_guard map_lock(mutex);
        for (auto it = sessions.begin(); it != sessions.end();) {
          if (it->second->idle_since(cutoff)) {
            expired.push_back(it->second);
            it = sessions.erase(it);
          } else {
            ++it;
          }
        }
      }
      for (const auto& hs : expired) {
        log::info("mcp") << "HTTP session " << hs->id << " expired after inactivity";
        hs->close();
      }
    }
  }

  void close_all() {
    std::map<std::string, std::shared_ptr<HttpSession>> all;
    {
      std::lock_guard lock(mutex);
      all.swap(sessions);
    }
    for (auto& [id, hs] : all) hs->close();
  }
};

HttpTransport::HttpTransport(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {
  Impl* impl = impl_.get();
  httplib::Server& http = impl->http;
  const size_t threads = impl->opts.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(impl->opts.max_message_bytes);
  http.set_keep_alive_max_count(1000000);
  http.set_keep_alive_timeout(10);  // an idle keep-alive connection holds a pool thread
  http.set_tcp_nodelay(true);
  const std::string& path = impl->opts.path;
  auto guarded = [impl](void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
    return [impl, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        (impl->*handler)(req, res);
      } catch (const std::exception& e) {
        log::error("mcp") << "HTTP " << req.method << " failed: " << e.what();
        error_reply(res, 500, std::string("Internal error: ") + e.what(), rpc::kInternalError);
      }
      log::debug("mcp") << "HTTP " << req.method << " " << req.path << " -> " << res.status;
    };
  };
  // Before any body is read. cpp-httplib caps only bodies sent with a
  // Content-Length: a chunked one would be held in memory whole, whoever
  // sent it. Every MCP client sends a length.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Transfer-Encoding")) {
      error_reply(res, 411, "Length Required: send the message with a Content-Length");
    } else if (req.get_header_value_count("Host") > 1) {
      error_reply(res, 400, "Bad Request: more than one Host header");
    } else {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("Connection", "close");  // its body is never read
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Post(path, guarded(&Impl::on_post));
  http.Get(path, guarded(&Impl::on_get));
  http.Delete(path, guarded(&Impl::on_delete));
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET, POST, DELETE");
    error_reply(res, 405, "Method Not Allowed: use POST, GET or DELETE");
  };
  http.Put(path, not_allowed);
  http.Patch(path, not_allowed);
  http.Options(path, not_allowed);
}

HttpTransport::~HttpTransport() {
  stop();
  if (impl_->reaper.joinable()) impl_->reaper.join();
  impl_->close_all();
}

Result<int> HttpTransport::bind() {
  Impl& impl = *impl_;
  const std::string& host = impl.opts.host;
  int port = impl.opts.port;
  if (port == 0) {
    port = impl.http.bind_to_any_port(host);
    if (port <= 0) return fail(Errc::io, "cannot listen on " + host + ": no free port");
  } else if (!impl.http.bind_to_port(host, port)) {
    return fail(Errc::io, "cannot listen on " + host + ":" + std::to_string(port) +
                              " (address in use, or not an address of this machine)");
  }
  impl.port = port;
  impl.allowed_hosts = policy::loopback_hosts();
  const std::string bound = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  impl.allowed_hosts.push_back(policy::host_of(bound));
  for (const std::string& h : impl.opts.allowed_hosts)
    impl.allowed_hosts.push_back(policy::host_of(h));
  if (!is_loopback_host(host)) {
    log::warn("mcp") << "listening on " << host
                     << ", which is not loopback: other machines can reach this server"
                     << (impl.opts.auth_token.empty() ? " and no --auth-token is set" : "");
  }
  return port;
}

Result<void> HttpTransport::run() {
  Impl& impl = *impl_;
  impl.reaper = std::thread([&impl] { impl.reap(); });
  const bool ok = impl.http.listen_after_bind();
  stop();
  if (!ok && !impl.stopping) return fail(Errc::io, "the HTTP server stopped unexpectedly");
  return {};
}

void HttpTransport::stop() {
  Impl& impl = *impl_;
  impl.stopping = true;
  { std::lock_guard lock(impl.reaper_mutex); }
  impl.reaper_cv.notify_all();
  {
    std::lock_guard lock(impl.mutex);
    for (auto& [id, hs] : impl.sessions) {
      std::lock_guard session_lock(hs->mutex);
      for (auto& [sid, s] : hs->streams) s->shutdown();
    }
  }
  impl.http.stop();
}

std::string HttpTransport::url() const {
  const std::string& host = impl_->opts.host;
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + h + ":" + std::to_string(impl_->port) + impl_->opts.path;
}

size_t HttpTransport::session_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->sessions.size();
}

}  // namespace para::mcp
