#include "mcp/session.h"

// Theory of operation
//
// receive() classifies a message. Requests go through a handler map: cheap
// ones are answered inline; the rest (user handlers) become a RequestState
// registered in in_flight_ and run on the server's WorkerPool. The
// RequestState owns the request's Outbound (its "stream") and is shared with
// the handler's ToolContext, so progress and logs go out on the same stream
// until finish_request() marks it finished under its mutex; nothing is sent
// on a stream after its finish(). notifications/cancelled marks the state
// cancelled and wakes waiters; the handler's eventual response is dropped.
// Server->client requests are PendingClientRequest entries keyed by our own
// integer ids, completed by on_response().

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/json_schema.h"
#include "core/log.h"
#include "mcp/batch.h"
#include "mcp/context.h"
#include "mcp/server.h"
#include "mcp/uri_template.h"

namespace para::mcp {

using nlohmann::json;
namespace rpc = jsonrpc;

namespace detail {

struct RequestState {
  std::weak_ptr<Session> session;
  std::shared_ptr<Outbound> reply;
  json id;
  json progress_token;  // null = the client asked for no progress
  json meta;            // params._meta or null
  std::mutex mutex;
  std::condition_variable cv;
  bool cancelled = false;
  bool finished = false;
  std::optional<double> last_progress;
};

struct PendingClientRequest {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  json response;  // the whole JSON-RPC response message
};

}  // namespace detail

namespace {

constexpr size_t kMaxCompletionValues = 100;

json invalid_params(const json& id, std::string message, json data = nullptr) {
  return rpc::error_response(id, rpc::kInvalidParams, "Invalid params: " + std::move(message),
                             std::move(data));
}

std::string to_hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(const std::string& s) {
  if (s.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Opaque cursors: the list method and an offset, hex-encoded. Clients must
// not parse them; we reject anything we did not issue for that method.
std::string make_cursor(const std::string& method, size_t offset) {
  return to_hex(method + "#" + std::to_string(offset));
}

std::optional<size_t> parse_cursor(const std::string& method, const std::string& cursor) {
  const auto text = from_hex(cursor);
  if (!text || text->rfind(method + "#", 0) != 0) return std::nullopt;
  const std::string digits = text->substr(method.size() + 1);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return static_cast<size_t>(std::stoul(digits));
}

void put_if(json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

json tool_json(const Tool& t) {
  json out{{"name", t.name}};
  put_if(out, "title", t.title);
  put_if(out, "description", t.description);
  out["inputSchema"] = t.input_schema;
  if (!t.output_schema.is_null()) out["outputSchema"] = t.output_schema;
  if (!t.annotations.is_null()) out["annotations"] = t.annotations;
  return out;
}

json resource_json(const Resource& r) {
  json out{{"uri", r.uri}, {"name", r.name}};
  put_if(out, "title", r.title);
  put_if(out, "description", r.description);
  put_if(out, "mimeType", r.mime_type);
  if (!r.annotations.is_null()) out["annotations"] = r.annotations;
  return out;
}

json template_json(const ResourceTemplate& t) {
  json out{{"uriTemplate", t.uri_template}, {"name", t.name}};
  put_if(out, "title", t.title);
  put_if(out, "description", t.description);
  put_if(out, "mimeType", t.mime_type);
  if (!t.annotations.is_null()) out["annotations"] = t.annotations;
  return out;
}

json prompt_json(const Prompt& p) {
  json out{{"name", p.name}};
  put_if(out, "title", p.title);
  put_if(out, "description", p.description);
  if (!p.arguments.empty()) {
    json args = json::array();
    for (const PromptArgument& a : p.arguments) {
      json arg{{"name", a.name}};
      put_if(arg, "title", a.title);
      put_if(arg, "description", a.description);
      arg["required"] = a.required;
      args.push_back(std::move(arg));
    }
    out["arguments"] = std::move(args);
  }
  return out;
}

// A member that is a string, else empty (never throws, unlike json::value).
std::string string_field(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json object_field(const json& object, const char* key) {
  if (!object.is_object()) return json::object();
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : json::object();
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n- " + l;
  return out;
}

// The Errc of a resource/prompt handler's Error as a JSON-RPC error.
json handler_error(const json& id, const Error& e, const std::string& uri = {}) {
  switch (e.code) {
    case Errc::not_found:
      if (!uri.empty()) {
        return rpc::error_response(id, rpc::kResourceNotFound, e.message, json{{"uri", uri}});
      }
      return invalid_params(id, e.message);
    case Errc::invalid_argument:
      return invalid_params(id, e.message);
    case Errc::already_exists:
    case Errc::io:
    case Errc::tool_failed:
    case Errc::timeout:
    case Errc::denied:
    case Errc::unavailable:
    case Errc::conflict:
    case Errc::internal:
      break;
  }
  return rpc::error_response(id, rpc::kInternalError, e.message);
}

/// Collects what a request sends, for Session::handle().
class CaptureOutbound : public Outbound {
 public:
  void send(const json& message) override {
    std::lock_guard lock(mutex_);
    related_.push_back(message);
  }
  void finish(std::optional<json> response) override {
    std::lock_guard lock(mutex_);
    response_ = std::move(response);
    done_ = true;
    cv_.notify_all();
  }
  std::optional<json> wait(std::vector<json>* related) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    if (related != nullptr) {
      for (json& m : related_) related->push_back(std::move(m));
    }
    return std::move(response_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<json> response_;
  std::vector<json> related_;
};

}  // namespace

// ---- ToolContext -------------------------------------------------------------

ToolContext::ToolContext() = default;
ToolContext::ToolContext(std::shared_ptr<detail::RequestState> state) : state_(std::move(state)) {}

void ToolContext::progress(double progress, std::optional<double> total, std::string message) {
  if (!state_ || !std::isfinite(progress) || (total && !std::isfinite(*total))) return;
  std::lock_guard lock(state_->mutex);
  if (state_->progress_token.is_null() || state_->finished || state_->cancelled) return;
  if (state_->last_progress && progress <= *state_->last_progress) return;
  state_->last_progress = progress;
  json params{{"progressToken", state_->progress_token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = std::move(message);
  state_->reply->send(rpc::notification("notifications/progress", std::move(params)));
}

void ToolContext::log(LogLevel level, const json& data, std::string logger) {
  if (!state_) return;
  auto session = state_->session.lock();
  if (!session || !session->log_level_admits(level)) return;
  json params{{"level", log_level_name(level)}};
  if (!logger.empty()) params["logger"] = std::move(logger);
  params["data"] = data;
  std::lock_guard lock(state_->mutex);
  if (state_->finished) return;
  state_->reply->send(rpc::notification("notifications/message", std::move(params)));
}

bool ToolContext::cancelled() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return state_->cancelled;
}

bool ToolContext::wait_cancelled(std::chrono::milliseconds timeout) const {
  if (!state_) {
    std::this_thread::sleep_for(timeout);
    return false;
  }
  std::unique_lock lock(state_->mutex);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->cancelled; });
}

Result<json> ToolContext::request(const std::string& method, json params,
                                  std::chrono::milliseconds timeout) {
  if (!state_) return fail(Errc::unavailable, "no client is connected to answer " + method);
  auto session = state_->session.lock();
  if (!session) return fail(Errc::unavailable, "the client session is gone");
  return session->client_request(state_, method, std::move(params), timeout);
}

json ToolContext::client_capabilities() const {
  auto session = state_ ? state_->session.lock() : nullptr;
  return session ? session->client_capabilities() : json::object();
}

json ToolContext::client_info() const {
  auto session = state_ ? state_->session.lock() : nullptr;
  return session ? session->client_info() : json::object();
}

std::string ToolContext::protocol_version() const {
  auto session = state_ ? state_->session.lock() : nullptr;
  return session ? session->protocol_version() : std::string();
}

const json& ToolContext::meta() const {
  static const json kNull;
  return state_ ? state_->meta : kNull;
}

void ToolContext::close_sse_stream() {
  if (state_) state_->reply->close_connection();
}

// ---- Session -------------------------------------------------------------------

Session::Session(Server& server, std::shared_ptr<Outbound> standalone)
    : server_(server), standalone_(std::move(standalone)) {}

Session::~Session() = default;

bool Session::initialized() const {
  std::lock_guard lock(mutex_);
  return initialized_;
}
bool Session::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}
std::string Session::protocol_version() const {
  std::lock_guard lock(mutex_);
  return protocol_version_;
}
json Session::client_capabilities() const {
  std::lock_guard lock(mutex_);
  return client_capabilities_;
}
json Session::client_info() const {
  std::lock_guard lock(mutex_);
  return client_info_;
}
std::vector<std::string> Session::subscriptions_touched_by(const std::string& uri) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (auto it = subscriptions_.lower_bound(uri);
       it != subscriptions_.end() && it->compare(0, uri.size(), uri) == 0; ++it) {
    if (it->size() == uri.size() || (*it)[uri.size()] == '/') out.push_back(*it);
  }
  return out;
}
bool Session::log_level_admits(LogLevel level) const {
  std::lock_guard lock(mutex_);
  return level >= log_level_.value_or(server_.options().default_log_level);
}
size_t Session::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_.size();
}

void Session::notify(const std::string& method, json params) {
  if (standalone_) standalone_->send(rpc::notification(method, std::move(params)));
}

void Session::log(LogLevel level, const json& data, const std::string& logger) {
  if (!log_level_admits(level)) return;
  json params{{"level", log_level_name(level)}};
  if (!logger.empty()) params["logger"] = logger;
  params["data"] = data;
  notify("notifications/message", std::move(params));
}

void Session::close() {
  std::vector<std::shared_ptr<detail::RequestState>> requests;
  std::vector<std::shared_ptr<detail::PendingClientRequest>> pending;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (auto& [key, state] : in_flight_) requests.push_back(state);
    for (auto& [key, p] : pending_client_) pending.push_back(p);
    pending_client_.clear();
  }
  for (const auto& state : requests) {
    std::lock_guard lock(state->mutex);
    state->cancelled = true;
    state->cv.notify_all();
  }
  for (const auto& p : pending) {
    std::lock_guard lock(p->mutex);
    p->done = true;
    p->response = rpc::error_response(nullptr, rpc::kConnectionClosed, "the session was closed");
    p->cv.notify_all();
  }
}

void Session::receive(const json& message, std::shared_ptr<Outbound> reply) {
  if (message.is_array()) return receive_batch(*this, message, std::move(reply));
  const rpc::Classified c = rpc::classify(message);
  switch (c.kind) {
    case rpc::Kind::invalid:
      if (reply) reply->finish(rpc::error_response(c.id, c.error));
      return;
    case rpc::Kind::response:
      on_response(message);
      if (reply) reply->finish(std::nullopt);
      return;
    case rpc::Kind::notification:
      on_notification(message["method"].get<std::string>(),
                      message.value("params", json::object()));
      if (reply) reply->finish(std::nullopt);
      return;
    case rpc::Kind::request:
      if (!reply) return;  // nobody to answer: a bug in the transport
      // The one catch-all of the inline dispatch: a bug answers -32603 and
      // the session keeps serving. (Worker handlers have their own.)
      try {
        on_request(c.id, message["method"].get<std::string>(),
                   message.value("params", json::object()), reply);
      } catch (const std::exception& e) {
        log::error("mcp") << message["method"].get<std::string>() << " failed: " << e.what();
        reply->finish(rpc::error_response(c.id, rpc::kInternalError,
                                          std::string("Internal error: ") + e.what()));
      }
      return;
  }
}

std::optional<json> Session::handle(const json& message, std::vector<json>* related) {
  auto capture = std::make_shared<CaptureOutbound>();
  receive(message, capture);
  return capture->wait(related);
}

void Session::on_request(const json& id, const std::string& method, const json& params,
                         const std::shared_ptr<Outbound>& reply) {
  if (method == "initialize") {
    reply->finish(do_initialize(id, params));
    return;
  }
  if (method == "ping") {
    reply->finish(rpc::response(id, json::object()));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      reply->finish(rpc::error_response(id, rpc::kConnectionClosed, "the session is closed"));
      return;
    }
    if (!initialized_) {
      reply->finish(rpc::error_response(
          id, rpc::kInvalidRequest,
          "Invalid Request: the server is not initialized; send initialize first (only "
          "initialize and ping are accepted before it)"));
      return;
    }
  }
  const auto cursor = params.find("cursor");  // end() also for params that are no object
  if (method == "tools/list" && (cursor == params.end() || cursor->is_null())) {
    reply->finish_text(tools_list_text(id));
  } else if (method == "tools/list" || method == "resources/list" ||
             method == "resources/templates/list" || method == "prompts/list") {
    reply->finish(do_list(id, method, params));
  } else if (method == "logging/setLevel") {
    reply->finish(do_set_level(id, params));
  } else if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    reply->finish(do_subscribe(id, params, method == "resources/subscribe"));
  } else if (method == "tools/call" || method == "resources/read" || method == "prompts/get" ||
             method == "completion/complete") {
    run_async(id, method, params, reply);
  } else {
    reply->finish(rpc::error_response(id, rpc::kMethodNotFound, "Method not found: " + method));
  }
}

void Session::on_notification(const std::string& method, const json& params) {
  if (method == "notifications/cancelled") {
    const json request_id = params.value("requestId", json());
    if (!rpc::is_valid_id(request_id)) return;
    std::shared_ptr<detail::RequestState> state;
    {
      std::lock_guard lock(mutex_);
      auto it = in_flight_.find(request_id.dump());
      if (it == in_flight_.end()) return;  // finished or unknown: ignored, as the spec says
      state = it->second;
    }
    std::lock_guard lock(state->mutex);
    state->cancelled = true;
    state->cv.notify_all();
    log::debug("mcp") << "request " << request_id.dump() << " cancelled by the client";
    return;
  }
  // notifications/initialized, notifications/roots/list_changed, progress
  // for our own requests...: nothing to do.
  log::debug("mcp") << "notification " << method;
}

void Session::on_response(const json& message) {
  const json& id = message["id"];
  if (!id.is_number_integer()) return;
  std::shared_ptr<detail::PendingClientRequest> pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_client_.find(id.get<int64_t>());
    if (it == pending_client_.end()) {
      log::debug("mcp") << "response to unknown request " << id.dump() << " ignored";
      return;
    }
    pending = it->second;
    pending_client_.erase(it);
  }
  std::lock_guard lock(pending->mutex);
  pending->done = true;
  pending->response = message;
  pending->cv.notify_all();
}

void Session::run_async(const json& id, const std::string& method, const json& params,
                        const std::shared_ptr<Outbound>& reply) {
  auto state = std::make_shared<detail::RequestState>();
  state->session = weak_from_this();
  state->reply = reply;
  state->id = id;
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
    state->meta = *meta;
    const json token = meta->value("progressToken", json());
    if (token.is_string() || token.is_number_integer()) state->progress_token = token;
  }
  const std::string key = id.dump();
  {
    std::lock_guard lock(mutex_);
    if (in_flight_.count(key) != 0) {
      reply->finish(rpc::error_response(
          id, rpc::kInvalidRequest,
          "Invalid Request: id " + key + " is already used by a request in progress"));
      return;
    }
    in_flight_[key] = state;
  }
  auto self = shared_from_this();
  const bool queued = server_.submit([self, state, id, method, params] {
    bool cancelled_in_queue = false;
    {
      std::lock_guard lock(state->mutex);
      cancelled_in_queue = state->cancelled;
    }
    if (cancelled_in_queue) {  // cancelled before a worker took it: never run
      log::debug("mcp") << method << " " << id.dump() << " was cancelled before it started";
      self->finish_request(state, json());
      return;
    }
    json response;
    try {
      response = self->dispatch_async(id, method, params, state);
    } catch (const std::exception& e) {
      log::error("mcp") << method << " failed with an exception: " << e.what();
      response =
          rpc::error_response(id, rpc::kInternalError, std::string("Internal error: ") + e.what());
    } catch (...) {
      log::error("mcp") << method << " failed with an unknown exception";
      response = rpc::error_response(id, rpc::kInternalError, "Internal error");
    }
    self->finish_request(state, std::move(response));
  });
  if (!queued) {
    {
      std::lock_guard lock(mutex_);
      in_flight_.erase(key);
    }
    reply->finish(rpc::error_response(
        id, rpc::kInternalError,
        "Internal error: the server is busy with too many requests; retry shortly"));
  }
}

json Session::dispatch_async(const json& id, const std::string& method, const json& params,
                             const std::shared_ptr<detail::RequestState>& state) {
  if (method == "tools/call") return do_tools_call(id, params, state);
  if (method == "resources/read") return do_resources_read(id, params, state);
  if (method == "prompts/get") return do_prompts_get(id, params, state);
  return do_complete(id, params);
}

void Session::finish_request(const std::shared_ptr<detail::RequestState>& state, json response) {
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(state->id.dump());
  }
  std::lock_guard lock(state->mutex);
  state->finished = true;
  if (state->cancelled) {
    state->reply->finish(std::nullopt);
  } else {
    state->reply->finish(std::move(response));
  }
}

json Session::do_initialize(const json& id, const json& params) {
  const auto version = params.find("protocolVersion");
  if (version == params.end() || !version->is_string()) {
    return invalid_params(id, "initialize needs \"protocolVersion\", a string such as \"" +
                                  std::string(kLatestProtocolVersion) + "\"");
  }
  const json caps = params.value("capabilities", json::object());
  if (!caps.is_object())
    return invalid_params(id, "initialize: \"capabilities\" must be an object");
  const json client = params.value("clientInfo", json::object());
  if (!client.is_object())
    return invalid_params(id, "initialize: \"clientInfo\" must be an object");

  // Echo a version we support; otherwise offer our latest (the client
  // disconnects if it cannot use it).
  const std::string requested = version->get<std::string>();
  const std::string chosen =
      is_supported_protocol_version(requested) ? requested : std::string(kLatestProtocolVersion);
  {
    std::lock_guard lock(mutex_);
    if (closed_) return rpc::error_response(id, rpc::kConnectionClosed, "the session is closed");
    if (initialized_) {
      return rpc::error_response(id, rpc::kInvalidRequest,
                                 "Invalid Request: the session is already initialized");
    }
    initialized_ = true;
    protocol_version_ = chosen;
    client_capabilities_ = caps;
    client_info_ = client;
  }
  const ServerInfo info = server_.info();
  json server_info{{"name", info.name}, {"version", info.version}};
  put_if(server_info, "title", info.title);
  json result{
      {"protocolVersion", chosen},
      {"capabilities",
       {{"tools", {{"listChanged", true}}},
        {"resources", {{"subscribe", true}, {"listChanged", true}}},
        {"prompts", {{"listChanged", true}}},
        {"logging", json::object()},
        {"completions", json::object()}}},
      {"serverInfo", std::move(server_info)},
  };
  put_if(result, "instructions", info.instructions);
  log::debug("mcp") << "initialized with protocol " << chosen << " for client "
                    << client.value("name", json("?")).dump();
  return rpc::response(id, std::move(result));
}

json Session::do_set_level(const json& id, const json& params) {
  const json level = params.value("level", json());
  const auto parsed = level.is_string() ? parse_log_level(level.get<std::string>()) : std::nullopt;
  if (!parsed) {
    return invalid_params(id,
                          "\"level\" must be one of debug, info, notice, warning, error, critical, "
                          "alert, emergency");
  }
  std::lock_guard lock(mutex_);
  log_level_ = *parsed;
  return rpc::response(id, json::object());
}

json Session::do_list(const json& id, const std::string& method, const json& params) {
  json items = json::array();
  const char* key = "tools";
  if (method == "tools/list") {
    for (const auto& t : server_.tools()) items.push_back(tool_json(*t));
  } else if (method == "resources/list") {
    key = "resources";
    for (const auto& r : server_.resources()) items.push_back(resource_json(*r));
    for (const auto& t : server_.resource_templates()) {
      if (!t->list) continue;
      for (const Resource& r : t->list()) items.push_back(resource_json(r));
    }
  } else if (method == "resources/templates/list") {
    key = "resourceTemplates";
    for (const auto& t : server_.resource_templates()) items.push_back(template_json(*t));
  } else {
    key = "prompts";
    for (const auto& p : server_.prompts()) items.push_back(prompt_json(*p));
  }
  size_t offset = 0;
  if (auto cursor = params.find("cursor"); cursor != params.end() && !cursor->is_null()) {
    const auto parsed =
        cursor->is_string() ? parse_cursor(method, cursor->get<std::string>()) : std::nullopt;
    if (!parsed || *parsed > items.size()) {
      return invalid_params(id, "invalid cursor; pass back only a nextCursor this server returned");
    }
    offset = *parsed;
  }
  const size_t page = std::max<size_t>(1, server_.options().page_size);
  const size_t end = std::min(items.size(), offset + page);
  // One page is usually everything: then the items move instead of being
  // copied (the tools' schemas are most of a 25 KB answer).
  const bool more = end < items.size();
  json listed = offset == 0 && !more ? std::move(items)
                                     : json(items.begin() + static_cast<std::ptrdiff_t>(offset),
                                            items.begin() + static_cast<std::ptrdiff_t>(end));
  json result{{key, std::move(listed)}};
  if (more) result["nextCursor"] = make_cursor(method, end);
  return rpc::response(id, std::move(result));
}

std::string Session::tools_list_text(const json& id) {
  const auto result = server_.tools_list_result(
      [&] { return rpc::dump(do_list(nullptr, "tools/list", json::object())["result"]); });
  return R"({"id":)" + rpc::dump(id) + R"(,"jsonrpc":"2.0","result":)" + *result + "}";
}

json Session::do_subscribe(const json& id, const json& params, bool subscribe) {
  const json uri = params.value("uri", json());
  if (!uri.is_string() || uri.get<std::string>().empty()) {
    return invalid_params(id, "\"uri\" must be a non-empty string");
  }
  std::lock_guard lock(mutex_);
  if (subscribe) {
    subscriptions_.insert(uri.get<std::string>());
  } else {
    subscriptions_.erase(uri.get<std::string>());
  }
  return rpc::response(id, json::object());
}

json Session::do_tools_call(const json& id, const json& params,
                            const std::shared_ptr<detail::RequestState>& state) {
  const json name = params.value("name", json());
  if (!name.is_string()) return invalid_params(id, "tools/call needs \"name\", a string");
  const std::string tool_name = name.get<std::string>();
  const auto tool = server_.find_tool(tool_name);
  if (!tool) {
    return invalid_params(id, "Unknown tool: " + tool_name + "; tools/list names the tools");
  }
  json arguments = params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object()) {
    return invalid_params(id, "tools/call: \"arguments\" must be an object");
  }

  ToolResult result;
  const std::vector<std::string> problems =
      validate_json(tool->input_schema, arguments, "arguments");
  if (!problems.empty()) {
    result = ToolResult::error("Invalid arguments for tool " + tool_name + ":" +
                               join_lines(problems) + "\nFix these fields and call " + tool_name +
                               " again; its inputSchema in tools/list describes every parameter.");
  } else {
    ToolContext context(state);
    try {
      Result<ToolResult> r = tool->handler(arguments, context);
      if (r) {
        result = std::move(*r);
      } else {
        result = ToolResult::error(r.error().message);
      }
    } catch (const std::exception& e) {
      log::error("mcp") << "tool " << tool_name << " threw: " << e.what();
      result = ToolResult::error("Internal error in tool " + tool_name + ": " + e.what() +
                                 ". This is a bug in the server; please report it.");
    } catch (...) {
      log::error("mcp") << "tool " << tool_name << " threw an unknown exception";
      result = ToolResult::error("Internal error in tool " + tool_name +
                                 ". This is a bug in the server; please report it.");
    }
  }

  if (!result.content.is_array()) {
    log::error("mcp") << "tool " << tool_name << " returned content that is not an array";
    return rpc::error_response(id, rpc::kInternalError,
                               "Internal error: tool " + tool_name + " returned malformed content");
  }
  if (!result.is_error && !tool->output_schema.is_null()) {
    std::vector<std::string> bad;
    if (!result.structured) {
      bad.push_back("structuredContent is missing");
    } else {
      bad = validate_json(tool->output_schema, *result.structured, "structuredContent");
    }
    if (!bad.empty()) {
      log::error("mcp") << "tool " << tool_name << " broke its outputSchema:" << join_lines(bad);
      return rpc::error_response(id, rpc::kInternalError,
                                 "Internal error: tool " + tool_name +
                                     " returned a result that does not match its outputSchema (a "
                                     "bug in the server):" +
                                     join_lines(bad));
    }
  }
  if (result.content.empty() && result.structured) {
    result.content.push_back(text_content(result.structured->dump(2)));
  }
  json out{{"content", std::move(result.content)}};
  if (result.structured) out["structuredContent"] = std::move(*result.structured);
  if (result.is_error) out["isError"] = true;
  return rpc::response(id, std::move(out));
}

json Session::do_resources_read(const json& id, const json& params,
                                const std::shared_ptr<detail::RequestState>& state) {
  const json uri_value = params.value("uri", json());
  if (!uri_value.is_string()) return invalid_params(id, "resources/read needs \"uri\", a string");
  const std::string uri = uri_value.get<std::string>();
  ToolContext context(state);
  Result<json> contents = fail(Errc::not_found, "Resource not found: " + uri);
  bool found = false;
  for (const auto& r : server_.resources()) {
    if (r->uri == uri) {
      contents = r->read(uri, context);
      found = true;
      break;
    }
  }
  if (!found) {
    for (const auto& t : server_.resource_templates()) {
      if (auto vars = match_uri_template(t->uri_template, uri)) {
        contents = t->read(uri, *vars, context);
        break;
      }
    }
  }
  if (!contents) return handler_error(id, contents.error(), uri);
  if (!contents->is_array()) {
    log::error("mcp") << "resource reader for " << uri
                      << " returned contents that are not an array";
    return rpc::error_response(id, rpc::kInternalError, "Internal error reading " + uri);
  }
  return rpc::response(id, json{{"contents", std::move(*contents)}});
}

json Session::do_prompts_get(const json& id, const json& params,
                             const std::shared_ptr<detail::RequestState>& state) {
  const json name = params.value("name", json());
  if (!name.is_string()) return invalid_params(id, "prompts/get needs \"name\", a string");
  const auto prompt = server_.find_prompt(name.get<std::string>());
  if (!prompt) {
    return invalid_params(
        id, "Unknown prompt: " + name.get<std::string>() + "; prompts/list names the prompts");
  }
  const json args = params.value("arguments", json::object());
  if (!args.is_object() && !args.is_null()) {
    return invalid_params(id, "prompts/get: \"arguments\" must be an object of strings");
  }
  std::map<std::string, std::string> values;
  if (args.is_object()) {
    for (const auto& [k, v] : args.items()) {
      if (!v.is_string()) {
        return invalid_params(id, "prompts/get: argument \"" + k + "\" must be a string");
      }
      values[k] = v.get<std::string>();
    }
  }
  for (const PromptArgument& a : prompt->arguments) {
    if (a.required && values.count(a.name) == 0) {
      return invalid_params(id,
                            "prompt " + prompt->name + " needs the argument \"" + a.name + "\"");
    }
  }
  ToolContext context(state);
  Result<json> r = prompt->handler(values, context);
  if (!r) return handler_error(id, r.error());
  if (!r->is_object() || !r->contains("messages")) {
    log::error("mcp") << "prompt " << prompt->name << " returned no messages";
    return rpc::error_response(id, rpc::kInternalError, "Internal error in prompt " + prompt->name);
  }
  return rpc::response(id, std::move(*r));
}

json Session::do_complete(const json& id, const json& params) {
  const json ref = params.value("ref", json());
  const json argument = params.value("argument", json());
  if (!ref.is_object() || !argument.is_object() || !argument.value("name", json()).is_string() ||
      !argument.value("value", json()).is_string()) {
    return invalid_params(id,
                          "completion/complete needs \"ref\" and \"argument\": {\"name\": string, "
                          "\"value\": string}");
  }
  const json context_args = object_field(object_field(params, "context"), "arguments");
  const std::string type = string_field(ref, "type");
  Completer completer;
  if (type == "ref/prompt") {
    const auto prompt = server_.find_prompt(string_field(ref, "name"));
    if (!prompt) return invalid_params(id, "Unknown prompt: " + string_field(ref, "name"));
    completer = prompt->complete;
  } else if (type == "ref/resource") {
    const std::string uri = string_field(ref, "uri");
    bool known = false;
    for (const auto& t : server_.resource_templates()) {
      if (t->uri_template == uri) {
        completer = t->complete;
        known = true;
      }
    }
    for (const auto& r : server_.resources()) known = known || r->uri == uri;
    if (!known) {
      return rpc::error_response(id, rpc::kResourceNotFound, "Resource not found: " + uri,
                                 json{{"uri", uri}});
    }
  } else {
    return invalid_params(id, "\"ref.type\" must be \"ref/prompt\" or \"ref/resource\"");
  }
  std::vector<std::string> values;
  if (completer) {
    values = completer(argument["name"].get<std::string>(), argument["value"].get<std::string>(),
                       context_args);
  }
  const size_t total = values.size();
  if (values.size() > kMaxCompletionValues) values.resize(kMaxCompletionValues);
  return rpc::response(
      id,
      json{{"completion",
            {{"values", values}, {"total", total}, {"hasMore", total > kMaxCompletionValues}}}});
}

Result<json> Session::client_request(const std::shared_ptr<detail::RequestState>& state,
                                     const std::string& method, json params,
                                     std::chrono::milliseconds timeout) {
  static const std::pair<const char*, const char*> kNeeds[] = {
      {"sampling/", "sampling"}, {"elicitation/", "elicitation"}, {"roots/", "roots"}};
  auto pending = std::make_shared<detail::PendingClientRequest>();
  int64_t request_id = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return fail(Errc::unavailable, "the client session is closed");
    for (const auto& [prefix, capability] : kNeeds) {
      if (method.rfind(prefix, 0) == 0 && !client_capabilities_.contains(capability)) {
        return fail(Errc::unavailable, std::string("the client does not support ") + capability +
                                           " (it did not declare the capability)");
      }
    }
    request_id = next_client_request_id_++;
    pending_client_[request_id] = pending;
  }
  {
    std::lock_guard lock(state->mutex);
    if (state->finished || state->cancelled) {
      std::lock_guard session_lock(mutex_);
      pending_client_.erase(request_id);
      return fail(Errc::conflict, "the request was cancelled");
    }
    state->reply->send(rpc::request(request_id, method, std::move(params)));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(pending->mutex);
  while (!pending->done) {
    bool cancelled = false;
    {
      std::lock_guard state_lock(state->mutex);
      cancelled = state->cancelled;
    }
    const bool expired = std::chrono::steady_clock::now() >= deadline;
    if (cancelled || expired) {
      lock.unlock();
      {
        std::lock_guard session_lock(mutex_);
        pending_client_.erase(request_id);
      }
      std::lock_guard state_lock(state->mutex);
      if (!state->finished) {
        state->reply->send(
            rpc::notification("notifications/cancelled",
                              json{{"requestId", request_id},
                                   {"reason", cancelled ? "request cancelled" : "timeout"}}));
      }
      if (cancelled) return fail(Errc::conflict, "the request was cancelled");
      return fail(Errc::timeout, "the client did not answer " + method + " in time");
    }
    pending->cv.wait_for(lock, std::chrono::milliseconds(50));
  }
  const json& response = pending->response;
  if (response.contains("error")) {
    const json& e = response["error"];
    return fail(Errc::tool_failed, "the client answered " + method + " with error " +
                                       e.value("code", json(0)).dump() + ": " +
                                       string_field(e, "message"));
  }
  return response.value("result", json::object());
}

}  // namespace para::mcp
