// MCP server benchmark: cold start to the initialize response, tools/list
// round-trip latency (p50/p99) and peak RSS, over stdio and Streamable
// HTTP, for para-mcp-server and the Node reference server
// (@modelcontextprotocol/server-everything), in the same run, with ratios.
// Optionally the latency of one tool call (--tool para_list). Over HTTP
// also the round trip of a request on a new connection, where
// para-mcp-server checks who the client is (mcp/local_peer.h), against the
// same server with --no-peer-check and the Node server.
//
//   mcp-bench --para BIN --node NODE --everything DIST/index.js
//             [--calls 10000] [--starts 20] [--connections 1000] [--para-repo DIR]
//             [--tool NAME [--tool-args JSON] [--tool-calls 1000]
//              [--peer-tool echo] [--peer-tool-args '{"message":"bench"}']]
//
// --tool measures tools/call NAME on para-mcp-server (the hook for
// para_list: --tool para_list --para-repo <a git repository with sessions>)
// and, in the same run, tools/call --peer-tool on server-everything (its
// `echo` by default: a protocol-only round trip that does no work). A call
// whose result has isError set stops the run.
//
// The HTTP servers listen on loopback ports; server-everything binds every
// interface, so run this inside a private network namespace (run.sh does).

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/process.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

void stop(pid_t pid) {
  ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  if (!para::wait_for(pid, std::chrono::seconds(5))) {
    ::kill(-pid, SIGKILL);
    (void)para::wait_for(pid, std::chrono::seconds(5));
  }
}

json initialize_request(int id) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", "2025-11-25"},
            {"capabilities", json::object()},
            {"clientInfo", {{"name", "mcp-bench"}, {"version", "1"}}}}}};
}

json call_request(int id, const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

struct Server {
  std::string name;
  std::vector<std::string> stdio_argv;
  std::vector<std::string> http_argv;  // "{port}" is replaced
  std::vector<std::string> http_env;   // extra K=V; "{port}" is replaced
};

struct Figures {
  std::vector<double> starts;
  std::vector<double> list_rtt;
  std::vector<double> tool_rtt;
  long rss_kib = 0;
};

// One tool to call `calls` times after the tools/list loop (none if calls is 0).
struct ToolCall {
  std::string name;
  json args = json::object();
  int calls = 0;
};

// The first answer must be a successful tool result; a failing tool would
// measure the error path instead.
void check_tool_result(const ToolCall& tool, const json& r) {
  if (!r.contains("result") || r["result"].value("isError", false)) {
    throw std::runtime_error("tools/call " + tool.name + ": " + r.dump().substr(0, 600));
  }
}

// ---- stdio ------------------------------------------------------------------

class StdioPeer {
 public:
  explicit StdioPeer(const std::vector<std::string>& argv) {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    auto pid =
        para::spawn({.argv = argv, .stdin_fd = to[0], .stdout_fd = from[1], .stderr_fd = devnull});
    ::close(to[0]);
    ::close(from[1]);
    ::close(devnull);
    if (!pid) throw std::runtime_error(pid.error().message);
    pid_ = *pid;
    in_ = to[1];
    out_ = from[0];
  }
  ~StdioPeer() {
    if (in_ >= 0) ::close(in_);
    ::close(out_);
    stop(pid_);
  }
  void send(const json& m) {
    const std::string line = m.dump() + "\n";
    if (::write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("write");
    }
  }
  // The next message with this id (notifications are skipped). With
  // parse=false the answer line is only found, not parsed, and null is
  // returned: the round trip then measures the server, not this client's
  // JSON parser on answers of different sizes.
  json wait_for(int id, bool parse = true) {
    const std::string marker = "\"id\":" + std::to_string(id);
    for (;;) {
      size_t nl;
      while ((nl = buffer_.find('\n')) == std::string::npos) {
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, 30000) <= 0) throw std::runtime_error("stdio: no answer in 30 s");
        char buf[65536];
        const ssize_t n = ::read(out_, buf, sizeof buf);
        if (n <= 0) throw std::runtime_error("stdio: the server closed stdout");
        buffer_.append(buf, static_cast<size_t>(n));
      }
      if (!parse) {
        const size_t at = buffer_.find(marker);
        const bool answer =
            at < nl && (buffer_[at + marker.size()] == ',' || buffer_[at + marker.size()] == '}');
        buffer_.erase(0, nl + 1);
        if (answer) return json();
        continue;
      }
      json m = json::parse(buffer_.substr(0, nl), nullptr, false);
      buffer_.erase(0, nl + 1);
      if (m.is_object() && m.value("id", json()) == id) return m;
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
};

void bench_stdio(const Server& s, int starts, int calls, const ToolCall& tool, Figures& f) {
  for (int i = 0; i < starts; ++i) {
    const auto t0 = Clock::now();
    StdioPeer peer(s.stdio_argv);
    peer.send(initialize_request(1));
    peer.wait_for(1);
    f.starts.push_back(ms_since(t0));
  }
  StdioPeer peer(s.stdio_argv);
  peer.send(initialize_request(1));
  peer.wait_for(1);
  peer.send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  int id = 10;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    peer.send(call_request(++id, "tools/list", json::object()));
    peer.wait_for(id, /*parse=*/i == 0);
    f.list_rtt.push_back(ms_since(t0) * 1000.0);
  }
  for (int i = 0; i < tool.calls; ++i) {
    const auto t0 = Clock::now();
    peer.send(call_request(++id, "tools/call", {{"name", tool.name}, {"arguments", tool.args}}));
    const json r = peer.wait_for(id);
    f.tool_rtt.push_back(ms_since(t0) * 1000.0);
    if (i == 0) check_tool_result(tool, r);
  }
  f.rss_kib = peak_rss_kib(peer.pid());
}

// ---- HTTP -------------------------------------------------------------------

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> with_port(std::vector<std::string> v, int port) {
  for (std::string& s : v) {
    if (const size_t at = s.find("{port}"); at != std::string::npos)
      s.replace(at, 6, std::to_string(port));
  }
  return v;
}

class HttpPeer {
 public:
  HttpPeer(const Server& s) : port_(free_port()), client_("127.0.0.1", port_) {
    std::vector<std::string> env = para::current_environment();
    for (const std::string& kv : with_port(s.http_env, port_)) env.push_back(kv);
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    auto pid = para::spawn({.argv = with_port(s.http_argv, port_),
                            .env = env,
                            .stdout_fd = devnull,
                            .stderr_fd = devnull});
    ::close(devnull);
    if (!pid) throw std::runtime_error(pid.error().message);
    pid_ = *pid;
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);  // else delayed ACKs add 40 ms per request
    client_.set_read_timeout(30, 0);
  }
  ~HttpPeer() { stop(pid_); }

  // Retries until the server listens; returns the initialize response.
  json initialize() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto r = client_.Post("/mcp", headers(), initialize_request(1).dump(), "application/json");
      if (r && r->status == 200) {
        session_ = r->get_header_value("Mcp-Session-Id");
        return last_message(r->body);
      }
      if (Clock::now() > deadline) throw std::runtime_error("HTTP server did not start");
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  // With parse=false the body is received but not parsed (null is returned),
  // as StdioPeer::wait_for does.
  json call(const json& message, bool parse = true) {
    auto r = client_.Post("/mcp", headers(), message.dump(), "application/json");
    if (!r) throw std::runtime_error("HTTP: " + httplib::to_string(r.error()));
    if (r->status == 202) return json();
    if (r->status != 200)
      throw std::runtime_error("HTTP " + std::to_string(r->status) + ": " + r->body);
    return parse ? last_message(r->body) : json();
  }
  /// `message` on a connection of its own, closed after the response.
  void call_on_new_connection(const json& message) {
    httplib::Client fresh("127.0.0.1", port_);
    fresh.set_keep_alive(false);
    fresh.set_tcp_nodelay(true);
    auto r = fresh.Post("/mcp", headers(), message.dump(), "application/json");
    if (!r || r->status != 200) {
      throw std::runtime_error(
          "HTTP on a new connection: " +
          (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
    }
  }
  pid_t pid() const { return pid_; }

 private:
  httplib::Headers headers() const {
    httplib::Headers h{{"Accept", "application/json, text/event-stream"}};
    if (!session_.empty()) {
      h.emplace("Mcp-Session-Id", session_);
      h.emplace("MCP-Protocol-Version", "2025-11-25");
    }
    return h;
  }
  // A JSON body, or the last data event of an SSE body.
  static json last_message(const std::string& body) {
    json out = json::parse(body, nullptr, false);
    if (!out.is_discarded()) return out;
    for (size_t at = body.rfind("data: "); at != std::string::npos;
         at = at == 0 ? std::string::npos : body.rfind("data: ", at - 1)) {
      const size_t end = body.find('\n', at);
      json m = json::parse(body.substr(at + 6, end - at - 6), nullptr, false);
      if (!m.is_discarded()) return m;
    }
    throw std::runtime_error("no JSON in HTTP body: " + body.substr(0, 200));
  }

  int port_;
  httplib::Client client_;
  pid_t pid_ = -1;
  std::string session_;
};

void bench_http(const Server& s, int starts, int calls, const ToolCall& tool, Figures& f) {
  for (int i = 0; i < starts; ++i) {
    const auto t0 = Clock::now();
    HttpPeer peer(s);
    peer.initialize();
    f.starts.push_back(ms_since(t0));
  }
  HttpPeer peer(s);
  peer.initialize();
  peer.call({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  int id = 10;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    const json r = peer.call(call_request(++id, "tools/list", json::object()), /*parse=*/i == 0);
    if (i == 0 && !r.contains("result")) throw std::runtime_error("tools/list: " + r.dump());
    f.list_rtt.push_back(ms_since(t0) * 1000.0);
  }
  for (int i = 0; i < tool.calls; ++i) {
    const auto t0 = Clock::now();
    const json r = peer.call(
        call_request(++id, "tools/call", {{"name", tool.name}, {"arguments", tool.args}}));
    f.tool_rtt.push_back(ms_since(t0) * 1000.0);
    if (i == 0) check_tool_result(tool, r);
  }
  f.rss_kib = peak_rss_kib(peer.pid());
}

// ping round trips (µs), each on a new connection, after one initialize.
std::vector<double> new_connection_rtts(const Server& s, int connections) {
  HttpPeer peer(s);
  peer.initialize();
  peer.call({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  std::vector<double> rtts;
  for (int i = 0; i < connections; ++i) {
    const auto t0 = Clock::now();
    peer.call_on_new_connection(call_request(100 + i, "ping", json::object()));
    rtts.push_back(ms_since(t0) * 1000.0);
  }
  return rtts;
}

void report_new_connections(int connections, const std::vector<double>& checked,
                            const std::vector<double>& unchecked, const std::vector<double>& node) {
  std::printf("\n== Streamable HTTP, one ping per new connection (%d each)\n", connections);
  std::printf("%-22s %16s %16s %18s %8s\n", "", "para-mcp-server", "--no-peer-check",
              "server-everything", "ratio");
  for (const double p : {50.0, 99.0}) {
    const double a = percentile(checked, p), b = percentile(unchecked, p), c = percentile(node, p);
    std::printf("%-22s %13.1f us %13.1f us %15.1f us %7.1fx\n",
                ("round trip p" + std::to_string(static_cast<int>(p))).c_str(), a, b, c, c / a);
  }
  std::printf("the peer check costs %.1f us at p50 (para-mcp-server minus --no-peer-check)\n",
              percentile(checked, 50) - percentile(unchecked, 50));
}

void report(const char* transport, const Figures& para, const Figures& node,
            const ToolCall& para_tool, const ToolCall& peer_tool) {
  const double ps = percentile(para.starts, 50), ns = percentile(node.starts, 50);
  const double pl50 = percentile(para.list_rtt, 50), nl50 = percentile(node.list_rtt, 50);
  const double pl99 = percentile(para.list_rtt, 99), nl99 = percentile(node.list_rtt, 99);
  std::printf("\n== %s\n", transport);
  std::printf("%-34s %14s %16s %8s\n", "", "para-mcp-server", "server-everything", "ratio");
  std::printf("%-34s %11.2f ms %13.2f ms %7.1fx\n", "cold start -> initialize (p50)", ps, ns,
              ns / ps);
  std::printf("%-34s %11.2f ms %13.2f ms\n", "cold start -> initialize (p90)",
              percentile(para.starts, 90), percentile(node.starts, 90));
  std::printf("%-34s %11.1f us %13.1f us %7.1fx\n", "tools/list round trip p50", pl50, nl50,
              nl50 / pl50);
  std::printf("%-34s %11.1f us %13.1f us %7.1fx\n", "tools/list round trip p99", pl99, nl99,
              nl99 / pl99);
  std::printf("%-34s %11.1f MiB %12.1f MiB %7.1fx\n", "peak RSS (VmHWM)", para.rss_kib / 1024.0,
              node.rss_kib / 1024.0,
              static_cast<double>(node.rss_kib) / static_cast<double>(para.rss_kib));
  if (para_tool.calls > 0) {
    // Different tools: the ratio (peer / para, as above) is below 1 when
    // para's tool does more work than the peer's, so it gets two decimals.
    std::printf("tools/call (%d each): para-mcp-server %s, server-everything %s\n", para_tool.calls,
                para_tool.name.c_str(), peer_tool.name.c_str());
    for (const double p : {50.0, 99.0}) {
      const double a = percentile(para.tool_rtt, p), b = percentile(node.tool_rtt, p);
      std::printf("%-34s %11.1f us %13.1f us %7.2fx\n",
                  ("tools/call round trip p" + std::to_string(static_cast<int>(p))).c_str(), a, b,
                  b / a);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::string para_bin, node, everything, para_repo;
  ToolCall para_tool{.calls = 1000};
  ToolCall peer_tool{.name = "echo", .args = {{"message", "bench"}}};
  int calls = 10000, starts = 20, connections = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--para")
      para_bin = v;
    else if (a == "--node")
      node = v;
    else if (a == "--everything")
      everything = v;
    else if (a == "--calls")
      calls = std::atoi(v.c_str());
    else if (a == "--starts")
      starts = std::atoi(v.c_str());
    else if (a == "--connections")
      connections = std::atoi(v.c_str());
    else if (a == "--tool")
      para_tool.name = v;
    else if (a == "--para-repo")
      para_repo = v;
    else if (a == "--tool-args")
      para_tool.args = json::parse(v);
    else if (a == "--tool-calls")
      para_tool.calls = std::atoi(v.c_str());
    else if (a == "--peer-tool")
      peer_tool.name = v;
    else if (a == "--peer-tool-args")
      peer_tool.args = json::parse(v);
    else {
      std::fprintf(stderr, "mcp-bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (para_bin.empty() || node.empty() || everything.empty()) {
    std::fprintf(stderr,
                 "usage: mcp-bench --para BIN --node NODE --everything DIST/index.js "
                 "[--calls N] [--starts N] [--connections N] [--para-repo DIR] [--tool NAME "
                 "[--tool-args JSON] "
                 "[--tool-calls N] [--peer-tool NAME] [--peer-tool-args JSON]]\n");
    return 2;
  }
  Server para{
      "para-mcp-server", {para_bin, "--stdio"}, {para_bin, "--http", "127.0.0.1:{port}"}, {}};
  if (!para_repo.empty()) {
    for (auto* command : {&para.stdio_argv, &para.http_argv}) {
      command->push_back("--repo");
      command->push_back(para_repo);
    }
  }
  const Server ref{"server-everything",
                   {node, everything, "stdio"},
                   {node, everything, "streamableHttp"},
                   {"PORT={port}"}};
  std::printf("mcp-bench: %d cold starts, %d tools/list calls per server and transport\n", starts,
              calls);
  if (para_tool.name.empty()) para_tool.calls = 0;
  peer_tool.calls = para_tool.calls;
  try {
    Figures ps, ns, ph, nh;
    bench_stdio(para, starts, calls, para_tool, ps);
    bench_stdio(ref, starts, calls, peer_tool, ns);
    report("stdio", ps, ns, para_tool, peer_tool);
    bench_http(para, starts, calls, para_tool, ph);
    bench_http(ref, starts, calls, peer_tool, nh);
    report("Streamable HTTP", ph, nh, para_tool, peer_tool);
    Server unchecked = para;
    unchecked.http_argv.push_back("--no-peer-check");
    const std::vector<double> checked_rtts = new_connection_rtts(para, connections);
    const std::vector<double> unchecked_rtts = new_connection_rtts(unchecked, connections);
    const std::vector<double> node_rtts = new_connection_rtts(ref, connections);
    report_new_connections(connections, checked_rtts, unchecked_rtts, node_rtts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcp-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
