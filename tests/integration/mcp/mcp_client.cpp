#include "tests/integration/mcp/mcp_client.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/json_schema.h"
#include "core/process.h"
#include "tests/support/support.h"

namespace para::test {

namespace {

using Clock = std::chrono::steady_clock;

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  (void)wait_for(pid, std::chrono::seconds(5));
}

}  // namespace

json initialize_params(const std::string& version, json capabilities) {
  return json{{"protocolVersion", version},
              {"capabilities", std::move(capabilities)},
              {"clientInfo", {{"name", "para-integration-test"}, {"version", "1"}}}};
}

// ---- stdio -----------------------------------------------------------------

StdioClient::StdioClient(const std::vector<std::string>& argv) {
  int to_child[2], from_child[2];
  REQUIRE(::pipe2(to_child, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(from_child, O_CLOEXEC) == 0);
  auto pid =
      spawn({.argv = argv, .stdin_fd = to_child[0], .stdout_fd = from_child[1], .stderr_fd = 2});
  ::close(to_child[0]);
  ::close(from_child[1]);
  REQUIRE_MESSAGE(pid.has_value(), (pid ? "" : pid.error().message));
  pid_ = *pid;
  in_ = to_child[1];
  out_ = from_child[0];
}

StdioClient::~StdioClient() {
  if (in_ >= 0) ::close(in_);
  if (out_ >= 0) ::close(out_);
  if (pid_ > 0) kill_and_reap(pid_);
}

void StdioClient::send_raw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(in_, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    off += static_cast<size_t>(n);
  }
}

void StdioClient::send(const json& message) {
  send_raw(message.dump() + "\n");
}

std::optional<json> StdioClient::read(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      const std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      json parsed = json::parse(line, nullptr, false);
      CHECK_MESSAGE(!parsed.is_discarded(), "a stdout line is not JSON: " << line);
      return parsed;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

json StdioClient::request(const std::string& method, json params, std::vector<json>* others) {
  const int id = next_id();
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  for (;;) {
    auto m = read();
    REQUIRE_MESSAGE(m.has_value(), "no response to " << method);
    if (m->value("id", json()) == id && !m->contains("method")) return *m;
    if (others != nullptr) others->push_back(*m);
  }
}

json StdioClient::initialize(json capabilities) {
  const json r = request("initialize", initialize_params("2025-11-25", std::move(capabilities)));
  REQUIRE(r.contains("result"));
  send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  return r["result"];
}

int StdioClient::close_and_wait(std::chrono::milliseconds timeout) {
  ::close(in_);
  in_ = -1;
  return terminate_and_wait(timeout, false);
}

int StdioClient::terminate_and_wait(std::chrono::milliseconds timeout) {
  return terminate_and_wait(timeout, true);
}

int StdioClient::terminate_and_wait(std::chrono::milliseconds timeout, bool signal) {
  if (signal) ::kill(pid_, SIGTERM);
  auto st = wait_for(pid_, timeout);
  if (!st) {
    kill_and_reap(pid_);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return st->term_signal != 0 ? 128 + st->term_signal : st->exit_code;
}

// ---- HTTP server process --------------------------------------------------------

ServerProcess::ServerProcess(std::vector<std::string> argv, const std::vector<std::string>& env) {
  char path[] = "/tmp/para-mcp-http-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  log_path_ = path;
  argv.push_back("--http");
  argv.push_back("127.0.0.1:0");
  std::vector<std::string> full_env = current_environment();
  for (const std::string& kv : env) full_env.push_back(kv);
  auto pid = spawn({.argv = argv, .env = full_env, .stderr_fd = fd, .new_group = true});
  ::close(fd);
  REQUIRE_MESSAGE(pid.has_value(), (pid ? "" : pid.error().message));
  pid_ = *pid;
  const bool up = wait_until([&] {
    const std::string text = log();
    const size_t at = text.find("listening on http://127.0.0.1:");
    if (at == std::string::npos) return false;
    port_ = std::atoi(text.c_str() + at + std::string("listening on http://127.0.0.1:").size());
    return port_ > 0;
  });
  REQUIRE_MESSAGE(up, "the server did not start: " << log());
}

ServerProcess::~ServerProcess() {
  // A clean stop on SIGTERM, with exit status 0 (a sanitizer report at exit
  // would make it non-zero).
  ::kill(pid_, SIGTERM);
  auto st = wait_for(pid_, std::chrono::seconds(10));
  if (st) {
    CHECK_MESSAGE(
        (st->exit_code == 0 && st->term_signal == 0),
        "server exit " << st->exit_code << " signal " << st->term_signal << ": " << log());
  } else {
    FAIL_CHECK("the server did not stop on SIGTERM: " << log());
    kill_and_reap(pid_);
  }
  ::unlink(log_path_.c_str());
}

std::string ServerProcess::log() const {
  return read_text(log_path_);
}

// ---- HTTP client ------------------------------------------------------------------

void parse_sse(const std::string& body, HttpResult& out) {
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    const std::string event = body.substr(start, end - start);
    start = end + 2;
    std::string id, data;
    bool has_data = false;
    size_t ls = 0;
    while (ls <= event.size()) {
      size_t le = event.find('\n', ls);
      if (le == std::string::npos) le = event.size();
      const std::string line = event.substr(ls, le - ls);
      ls = le + 1;
      if (line.rfind("id: ", 0) == 0) id = line.substr(4);
      if (line.rfind("retry: ", 0) == 0) out.has_retry = true;
      if (line.rfind("data: ", 0) == 0 || line == "data:") {
        has_data = true;
        data += line.size() > 6 ? line.substr(6) : "";
      }
    }
    if (!has_data) continue;
    out.event_ids.push_back(id);
    if (data.empty()) continue;  // a priming event
    json parsed = json::parse(data, nullptr, false);
    CHECK_MESSAGE(!parsed.is_discarded(), "an SSE data line is not JSON: " << data);
    out.messages.push_back(parsed);
  }
}

namespace {

HttpResult to_result(const httplib::Result& r) {
  HttpResult out;
  REQUIRE_MESSAGE(r, "HTTP request failed: " << httplib::to_string(r.error()));
  out.status = r->status;
  out.headers = r->headers;
  out.content_type = r->get_header_value("Content-Type");
  out.session_id = r->get_header_value("Mcp-Session-Id");
  out.body = r->body;
  if (out.content_type.rfind("text/event-stream", 0) == 0) {
    parse_sse(out.body, out);
  } else if (!out.body.empty()) {
    json parsed = json::parse(out.body, nullptr, false);
    if (!parsed.is_discarded()) out.messages.push_back(parsed);
  }
  return out;
}

}  // namespace

HttpClient::HttpClient(int port) : port_(port) {}

httplib::Headers HttpClient::headers(const httplib::Headers& extra, bool post) const {
  std::map<std::string, std::string> h;
  h["Accept"] = post ? "application/json, text/event-stream" : "text/event-stream";
  if (!session_id.empty()) h["Mcp-Session-Id"] = session_id;
  h["MCP-Protocol-Version"] = protocol_version;
  for (const auto& [k, v] : extra) h[k] = v;
  httplib::Headers out;
  for (const auto& [k, v] : h) {
    if (!v.empty()) out.emplace(k, v);
  }
  return out;
}

HttpResult HttpClient::post(const std::string& body, const httplib::Headers& extra) {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(30, 0);
  std::string content_type = "application/json";
  if (auto it = extra.find("Content-Type"); it != extra.end()) content_type = it->second;
  auto h = headers(extra, true);
  h.erase("Content-Type");
  return to_result(c.Post("/mcp", h, body, content_type.c_str()));
}

HttpResult HttpClient::del(const httplib::Headers& extra) {
  httplib::Client c("127.0.0.1", port_);
  return to_result(c.Delete("/mcp", headers(extra, false)));
}

HttpResult HttpClient::get(const httplib::Headers& extra, std::chrono::milliseconds timeout,
                           const std::function<bool(const HttpResult&)>& until) {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(0, 200 * 1000);
  HttpResult out;
  std::string body;
  const auto deadline = Clock::now() + timeout;
  auto r = c.Get(
      "/mcp", headers(extra, false),
      [&](const httplib::Response& res) {
        out.status = res.status;
        out.content_type = res.get_header_value("Content-Type");
        out.session_id = res.get_header_value("Mcp-Session-Id");
        return true;
      },
      [&](const char* data, size_t n) {
        body.append(data, n);
        HttpResult partial;
        parse_sse(body, partial);
        out.messages = partial.messages;
        out.event_ids = partial.event_ids;
        out.has_retry = partial.has_retry;
        return !(until && until(out)) && Clock::now() < deadline;
      });
  if (r) {
    out.status = r->status;
    out.body = r->body.empty() ? body : r->body;
    if (out.content_type.empty()) out.content_type = r->get_header_value("Content-Type");
  } else {
    out.body = body;  // read timeout or our own stop: what came so far
  }
  return out;
}

json HttpClient::initialize(json capabilities) {
  session_id.clear();
  const HttpResult r =
      post(json{{"jsonrpc", "2.0"},
                {"id", next_id()},
                {"method", "initialize"},
                {"params", initialize_params(protocol_version, std::move(capabilities))}});
  REQUIRE(r.status == 200);
  REQUIRE(r.messages.size() == 1);
  session_id = r.session_id;
  REQUIRE(!session_id.empty());
  const HttpResult n = post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  CHECK(n.status == 202);
  return r.messages[0]["result"];
}

json HttpClient::request(const std::string& method, json params, std::vector<json>* others) {
  const int id = next_id();
  const HttpResult r =
      post(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  REQUIRE_MESSAGE(r.status == 200, method << " -> HTTP " << r.status << " " << r.body);
  REQUIRE(!r.messages.empty());
  for (size_t i = 0; i + 1 < r.messages.size(); ++i) {
    if (others != nullptr) others->push_back(r.messages[i]);
  }
  CHECK(r.messages.back()["id"] == id);
  return r.messages.back();
}

// ---- the wrong-type driver ----------------------------------------------------------

namespace {

json valid_value(const json& schema, const json& root, int depth = 0) {
  if (!schema.is_object() || depth > 8) return "x";
  if (auto ref = schema.find("$ref");
      ref != schema.end() && ref->is_string() && ref->get<std::string>().rfind("#/", 0) == 0) {
    try {
      return valid_value(root.at(json::json_pointer(ref->get<std::string>().substr(1))), root,
                         depth + 1);
    } catch (const json::exception&) {
      return "x";
    }
  }
  if (schema.contains("const")) return schema["const"];
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty())
    return (*e)[0];
  for (const char* k : {"oneOf", "anyOf"}) {
    if (auto alt = schema.find(k); alt != schema.end() && alt->is_array() && !alt->empty()) {
      return valid_value((*alt)[0], root, depth + 1);
    }
  }
  json type = schema.value("type", json("string"));
  if (type.is_array()) type = type.empty() ? json("string") : type[0];
  const std::string t = type.is_string() ? type.get<std::string>() : "string";
  if (t == "integer" || t == "number") {
    if (schema.contains("minimum")) return schema["minimum"];
    return schema.contains("maximum") ? schema["maximum"] : json(1);
  }
  if (t == "boolean") return false;
  if (t == "null") return nullptr;
  if (t == "array") {
    json out = json::array();
    for (int i = 0; i < schema.value("minItems", 0); ++i)
      out.push_back(valid_value(schema.value("items", json::object()), root, depth + 1));
    return out;
  }
  if (t == "object") {
    json out = json::object();
    for (const json& r : schema.value("required", json::array())) {
      if (r.is_string())
        out[r.get<std::string>()] = valid_value(
            schema.value("properties", json::object()).value(r.get<std::string>(), json::object()),
            root, depth + 1);
    }
    return out;
  }
  return std::string(static_cast<size_t>(std::max(1, schema.value("minLength", 1))), 'a');
}

}  // namespace

int check_wrong_argument_types(const Caller& call) {
  std::vector<json> tools;
  json params = json::object();
  for (int page = 0; page < 100; ++page) {
    const json r = call("tools/list", params);
    REQUIRE(r.contains("result"));
    for (const json& t : r["result"]["tools"]) tools.push_back(t);
    if (!r["result"].contains("nextCursor")) break;
    params = {{"cursor", r["result"]["nextCursor"]}};
  }
  const json candidates =
      json::array({"wrong", 12345, 1.5, true, json::array({1}), json{{"k", 1}}, nullptr});
  int calls = 0;
  for (const json& tool : tools) {
    const std::string name = tool["name"];
    const json& schema = tool["inputSchema"];
    const json base = valid_value(schema, schema);
    // The arguments themselves of a wrong type: a malformed request.
    const json not_object = call("tools/call", {{"name", name}, {"arguments", json::array()}});
    CHECK_MESSAGE(not_object.value("error", json::object()).value("code", 0) == -32602, name);
    const json properties = schema.value("properties", json::object());
    for (const auto& [property, sub] : properties.items()) {
      for (const json& value : candidates) {
        json args = base;
        args[property] = value;
        const std::string field = "arguments." + property;
        bool wrong = false;
        for (const std::string& m : validate_json(schema, args, "arguments")) {
          wrong = wrong || m.rfind(field + ":", 0) == 0 || m.rfind(field + ".", 0) == 0 ||
                  m.rfind(field + "[", 0) == 0;
        }
        if (!wrong) continue;
        const json r = call("tools/call", {{"name", name}, {"arguments", args}});
        ++calls;
        CAPTURE(name);
        CAPTURE(args.dump());
        REQUIRE_MESSAGE(r.contains("result"), r.dump());
        CHECK(r["result"].value("isError", false) == true);
        const std::string text = r["result"]["content"][0].value("text", "");
        CHECK_MESSAGE(text.find(field) != std::string::npos, text);
      }
    }
  }
  // Still serving.
  CHECK(call("ping", json::object())["result"] == json::object());
  return calls;
}

}  // namespace para::test
