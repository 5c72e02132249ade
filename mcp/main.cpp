// para-mcp-server: para's MCP server over stdio (default) or Streamable
// HTTP. Wiring only: flags, stdout protection, the server and a transport.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/process.h"
#include "mcp/http_transport.h"
#include "mcp/local_peer.h"
#include "mcp/server.h"
#include "mcp/stdio_transport.h"
#include "mcp/tools/para_tools.h"
#include "session/supervisor.h"

#ifndef PARA_VERSION
#define PARA_VERSION "0.0.0"
#endif

namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;

const char* const kUsage =
    R"(Usage: para-mcp-server [--stdio | --http [HOST:]PORT] [options]

para's MCP server. Serves one client over stdio (newline-delimited JSON-RPC
on stdin/stdout; the default), or any number of clients over Streamable HTTP
at http://HOST:PORT/mcp (HOST defaults to 127.0.0.1; PORT 0 picks a free port).

Options:
  --stdio                 serve over stdin/stdout (default)
  --http [HOST:]PORT      serve over Streamable HTTP; IPv6 as [::1]:PORT
  --auth-token TOKEN      HTTP: require "Authorization: Bearer TOKEN"
                          (or set PARA_MCP_AUTH_TOKEN; prefer it: argv is visible)
  --allowed-origin ORIGIN HTTP: also accept this Origin (repeatable);
                          loopback origins are always accepted
  --allowed-host HOST     HTTP: also accept this Host header name (repeatable)
  --no-peer-check         HTTP: also answer local processes of other users, in
                          sandboxes and in containers (by default they get 403,
                          as an agent in the standard sandbox profile shares the
                          host network); use it only with --auth-token
  --repo PATH             the repository to serve (default: the current directory)
  --log-level LEVEL       stderr logging: debug, info, warn, error (default info,
                          or PARA_LOG)
  --help                  show this help
  --version               show the version
)";

struct Flags {
  bool http = false;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string auth_token;
  bool check_peers = true;
  std::vector<std::string> allowed_origins, allowed_hosts;
  std::string repo;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "para-mcp-server: %s\nRun para-mcp-server --help for usage.\n",
               message.c_str());
  return kExitUsage;
}

bool parse_port(const std::string& text, int* port) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *port = std::stoi(text);
  return *port <= 65535;
}

// "[HOST:]PORT" with IPv6 hosts in brackets.
bool parse_listen(const std::string& text, Flags* flags) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return parse_port(text, &flags->port);
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  flags->host = host;
  return parse_port(text.substr(colon + 1), &flags->port);
}

// Waits for SIGINT/SIGTERM (blocked in every thread) and calls `stop`.
void stop_on_signal(std::function<void()> stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  std::thread([set, stop = std::move(stop)] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      para::log::info("mcp") << "signal " << sig << ": stopping";
      stop();
    }
  }).detach();
}

int serve(const Flags& flags, int protocol_fd) {
  para::mcp::Server server({.name = "para-mcp-server",
                            .version = PARA_VERSION,
                            .title = "para",
                            .instructions = para::mcp::para_instructions()});
  if (auto r = para::mcp::register_para_tools(server, {.repo = flags.repo}); !r) {
    para::log::error("mcp") << "cannot register the para tools: " << r.error().message;
    return kExitFailed;
  }
  if (!flags.http) {
    // A signal ends the session as EOF does: requests in flight get their
    // grace, then are cancelled (a para_start rolls back). The MCP stdio
    // shutdown sequence sends SIGTERM after closing stdin.
    int stop[2];
    if (::pipe2(stop, O_CLOEXEC) != 0) {
      para::log::error("mcp") << "cannot make a pipe: " << std::strerror(errno);
      return kExitFailed;
    }
    stop_on_signal([write_end = stop[1]] { (void)!::write(write_end, "x", 1); });
    auto r = para::mcp::serve_stdio(server, STDIN_FILENO, protocol_fd, {.stop_fd = stop[0]});
    if (!r) {
      para::log::error("mcp") << r.error().message;
      return kExitFailed;
    }
    return kExitOk;
  }
  para::mcp::HttpTransport transport(server, {.host = flags.host,
                                              .port = flags.port,
                                              .auth_token = flags.auth_token,
                                              .check_peers = flags.check_peers,
                                              .allowed_origins = flags.allowed_origins,
                                              .allowed_hosts = flags.allowed_hosts});
  auto port = transport.bind();
  if (!port) {
    para::log::error("mcp") << port.error().message;
    return kExitFailed;
  }
  // Tests and scripts read this line to find the port; keep its format.
  std::fprintf(stderr, "para-mcp-server: listening on %s\n", transport.url().c_str());
  if (flags.auth_token.empty() && !(flags.check_peers && para::mcp::can_check_local_peers())) {
    para::log::warn("mcp")
        << "no --auth-token (PARA_MCP_AUTH_TOKEN) and "
        << (flags.check_peers ? "this system cannot identify local clients" : "--no-peer-check")
        << ": any local process can call para's tools, including an agent in the standard "
           "sandbox profile (it shares the host network) and other users; set a token";
  }
  std::fflush(stderr);
  stop_on_signal([&transport] { transport.stop(); });
  if (auto r = transport.run(); !r) {
    para::log::error("mcp") << r.error().message;
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error return, not death
  para::close_inherited_fds_on_exec();
  // Sessions started through MCP are supervised by a detached copy of this
  // binary (session/supervisor.h); it never speaks JSON-RPC.
  if (argc > 1 && std::string(argv[1]) == para::session::kSuperviseCommand) {
    return para::session::supervisor_main({argv + 2, argv + argc});
  }
  Flags flags;
  if (const char* token = std::getenv("PARA_MCP_AUTH_TOKEN"); token != nullptr)
    flags.auth_token = token;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--version") {
      std::printf("para-mcp-server %s\n", PARA_VERSION);
      return kExitOk;
    } else if (a == "--stdio") {
      flags.http = false;
    } else if (a == "--http") {
      if (!value(&v) || !parse_listen(v, &flags)) {
        return usage_error("--http needs [HOST:]PORT, e.g. --http 127.0.0.1:8765");
      }
      flags.http = true;
    } else if (a == "--auth-token") {
      if (!value(&flags.auth_token) || flags.auth_token.empty()) {
        return usage_error("--auth-token needs a token");
      }
    } else if (a == "--allowed-origin") {
      if (!value(&v))
        return usage_error("--allowed-origin needs an origin, e.g. http://localhost:5173");
      flags.allowed_origins.push_back(v);
    } else if (a == "--allowed-host") {
      if (!value(&v)) return usage_error("--allowed-host needs a host name");
      flags.allowed_hosts.push_back(v);
    } else if (a == "--no-peer-check") {
      flags.check_peers = false;
    } else if (a == "--repo") {
      if (!value(&flags.repo)) return usage_error("--repo needs a path");
    } else if (a == "--log-level") {
      para::log::Level level;
      if (!value(&v) || !para::log::parse_level(v, &level)) {
        return usage_error("--log-level must be debug, info, warn or error");
      }
      para::log::set_level(level);
    } else {
      return usage_error("unknown argument '" + a + "'");
    }
  }
  std::error_code ec;
  flags.repo =
      std::filesystem::absolute(flags.repo.empty() ? "." : flags.repo, ec).lexically_normal();
  if (ec || !std::filesystem::is_directory(flags.repo, ec)) {
    return usage_error("--repo " + flags.repo + " is not a directory");
  }
  if (!flags.repo.empty() && flags.repo.size() > 1 && flags.repo.back() == '/')
    flags.repo.pop_back();

  // stdout belongs to JSON-RPC (STYLE 2.8).
  const auto protocol_fd = para::mcp::protect_stdout();
  if (!protocol_fd) {
    std::fprintf(stderr, "para-mcp-server: %s\n", protocol_fd.error().message.c_str());
    return kExitFailed;
  }
  {
    // Signals are taken by one thread (stop_on_signal); block them before
    // any other thread exists so that every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  try {
    return serve(flags, *protocol_fd);
  } catch (const std::exception& e) {
    para::log::error("mcp") << "unexpected error: " << e.what();
    return kExitFailed;
  }
}
