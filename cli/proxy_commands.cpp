// `para proxy`: runs the domain-filtering proxy in the foreground until
// SIGINT or SIGTERM. The session supervisor hosts the same proxy::Server.

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/fs.h"
#include "proxy/policy.h"
#include "proxy/server.h"

namespace para::cli {
namespace {

// Startup lines always print (they are how a caller learns the port), so
// they bypass the log level.
void print_stderr(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// "2", "0.5": seconds, as a duration; at most a day.
Result<std::chrono::milliseconds> parse_seconds(const char* flag, const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(seconds >= 0) || seconds > 86400) {
    return fail(Errc::invalid_argument,
                std::string("--") + flag + " '" + text + "' is not a number of seconds (0-86400)");
  }
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

int run_proxy(const Args& args) {
  proxy::PolicyConfig config;
  config.allowed = args.values("allowed-domains");
  config.denied = args.values("deny-domains");
  config.pins = args.values("resolve");
  config.include_essential = !args.flag("no-essential-domains");
  config.allow_local_destinations = args.flag("allow-local-destinations");
  Result<std::shared_ptr<const proxy::Policy>> policy = proxy::build_policy(config);
  if (!policy) return report_error(policy.error());

  std::vector<std::string> endpoints = args.values("listen");
  if (endpoints.empty()) {
    const std::string port = args.value("port").value_or("8877");
    if (port != "0" && !proxy::parse_port(port)) {
      return report_error(
          fail(Errc::invalid_argument,
               "--port '" + port + "' is not a port number (1-65535, or 0 for any)"));
    }
    endpoints.push_back("127.0.0.1:" + port);
  } else if (args.value("port")) {
    return report_error(fail(Errc::invalid_argument, "give either --port or --listen, not both"));
  }

  std::string auth;
  if (const auto file = args.value("auth-file")) {
    Result<std::string> text = read_file(*file, 4096);
    if (!text) return report_error(text.error());
    auth = *text;
    while (!auth.empty() && (auth.back() == '\n' || auth.back() == '\r')) auth.pop_back();
    if (auth.find(':') == std::string::npos) {
      return report_error(fail(Errc::invalid_argument,
                               "--auth-file " + *file + " must hold one line USER:PASSWORD"));
    }
  }

  proxy::ServerOptions options{.stop_grace = std::chrono::seconds(5),
                               .stop_signals = {SIGINT, SIGTERM}};
  struct Knob {
    const char* flag;
    std::chrono::milliseconds* target;
  };
  for (const Knob& k : {Knob{"head-timeout", &options.head_timeout},
                        Knob{"connect-timeout", &options.connect_timeout},
                        Knob{"idle-timeout", &options.idle_timeout},
                        Knob{"response-timeout", &options.response_timeout},
                        Knob{"stop-grace", &options.stop_grace}}) {
    if (const auto text = args.value(k.flag)) {
      Result<std::chrono::milliseconds> ms = parse_seconds(k.flag, *text);
      if (!ms) return report_error(ms.error());
      *k.target = *ms;
    }
  }
  if (const auto text = args.value("max-connections")) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || n == 0 || n > 1000000) {
      return report_error(fail(Errc::invalid_argument, "--max-connections '" + *text +
                                                           "' is not a number from 1 to 1000000"));
    }
    options.max_connections = n;
  }
  options.splice = !args.flag("no-splice");
  proxy::raise_open_file_limit();
  proxy::Server server(options);
  for (const std::string& endpoint : endpoints) {
    Result<std::string> bound = server.listen({.session = args.value("session").value_or(""),
                                               .endpoint = endpoint,
                                               .policy = *policy,
                                               .log_path = args.value("log").value_or(""),
                                               .basic_auth = auth});
    if (!bound) return report_error(bound.error());
    std::string hint = "para proxy: listening on " + *bound + "\n";
    if (!bound->starts_with("unix:")) {
      hint += "  export HTTPS_PROXY=http://" + *bound + " HTTP_PROXY=http://" + *bound + "\n";
    }
    print_stderr(hint);
  }
  server.run();
  return kExitOk;
}

}  // namespace

std::vector<Command> proxy_commands() {
  CommandSpec spec;
  spec.path = {"proxy"};
  spec.summary = "Run the domain-filtering HTTP/HTTPS proxy in the foreground";
  spec.options = {
      {.long_name = "port",
       .value_name = "PORT",
       .help = "listen on 127.0.0.1:PORT (default 8877; 0 picks a free port)"},
      {.long_name = "listen",
       .value_name = "ENDPOINT",
       .help = "listen on unix:/path or a loopback HOST:PORT instead (repeatable)",
       .repeatable = true},
      {.long_name = "allowed-domains",
       .value_name = "LIST",
       .help = "domains to allow besides the essential ones: example.com (and subdomains), "
               "*.example.com (subdomains only), host:port, host:port/plain",
       .comma_list = true},
      {.long_name = "deny-domains",
       .value_name = "LIST",
       .help = "domains to deny; the deny list always wins ('*' denies everything)",
       .comma_list = true},
      {.long_name = "resolve",
       .value_name = "HOST:ADDR",
       .help = "pin a name to an address, like curl --resolve (trusted: may be local)",
       .repeatable = true},
      {.long_name = "log",
       .value_name = "FILE",
       .help = "append one JSON line per decision to FILE (default: stderr)"},
      {.long_name = "session", .value_name = "NAME", .help = "session name recorded in the log"},
      {.long_name = "allow-local-destinations",
       .help = "allow loopback, private and link-local destinations (never metadata endpoints)"},
      {.long_name = "no-essential-domains", .help = "do not add para's seven essential domains"},
      {.long_name = "head-timeout",
       .value_name = "SECONDS",
       .help = "time a client has to send its whole request head (default 10)"},
      {.long_name = "connect-timeout",
       .value_name = "SECONDS",
       .help = "time to resolve and connect upstream before 504 (default 10)"},
      {.long_name = "idle-timeout",
       .value_name = "SECONDS",
       .help = "close a tunnel that moved no byte for this long (default 600)"},
      {.long_name = "response-timeout",
       .value_name = "SECONDS",
       .help = "plain HTTP: time the origin has to begin its response before 504 (default 60)"},
      {.long_name = "stop-grace",
       .value_name = "SECONDS",
       .help = "on SIGINT/SIGTERM, time open tunnels get to finish (default 5)"},
      {.long_name = "max-connections",
       .value_name = "N",
       .help = "connections served at once; more are closed at accept (default 16384)"},
      {.long_name = "no-splice",
       .help = "relay tunnels by copying through user space instead of splice(2)"},
      {.long_name = "auth-file",
       .value_name = "FILE",
       .help = "require Basic proxy authentication with the USER:PASSWORD in FILE (407)"},
  };
  spec.details =
      "Handles CONNECT (HTTPS tunnels; the TLS server name must match the CONNECT host) and\n"
      "absolute-form plain HTTP requests. Names are resolved by the proxy; every resolved\n"
      "address is checked and exactly that address is dialled. Stops on SIGINT/SIGTERM,\n"
      "giving open tunnels --stop-grace seconds to finish.\n"
      "Essential domains: api.anthropic.com, statsig.anthropic.com, sentry.io, github.com,\n"
      "objects.githubusercontent.com, claude.ai, console.anthropic.com.";
  return {{spec, run_proxy}};
}

}  // namespace para::cli
