#include "session/session_proxy.h"

#include "core/fs.h"
#include "core/log.h"

namespace para::session {

Result<std::shared_ptr<const proxy::Policy>> session_proxy_policy(const Repo& repo,
                                                                  const SessionState& state) {
  const Config& c = repo.config;
  proxy::PolicyConfig pc;
  pc.allowed = c.sandbox.allowed_domains;
  for (const std::string& d : state.allowed_domains) pc.allowed.push_back(d);
  pc.denied = c.sandbox.denied_domains;
  pc.allow_local_destinations = c.sandbox.allow_local_destinations;
  pc.pins = c.proxy.resolve;
  Result<std::shared_ptr<const proxy::Policy>> policy = proxy::build_policy(pc);
  if (!policy) {
    return fail(Errc::invalid_argument,
                "the network allowlist of session '" + state.name +
                    "' is not valid: " + policy.error().message +
                    " (the domains come from sandbox.allowed_domains/denied_domains in the config "
                    "and the session's --allowed-domains)");
  }
  return policy;
}

Result<std::unique_ptr<SessionProxy>> SessionProxy::start(const Repo& repo,
                                                          const SessionState& state) {
  Result<std::shared_ptr<const proxy::Policy>> policy = session_proxy_policy(repo, state);
  if (!policy) return fail(policy.error());
  const std::string runtime = state.runtime_dir.value_or(repo.runtime_dir(state.name));
  if (auto r = make_dirs(runtime, 0700); !r) return fail(r.error());
  const ProxyConfig& pc = repo.config.proxy;
  proxy::ServerOptions options;
  options.max_connections = static_cast<size_t>(pc.max_connections);
  options.idle_timeout = std::chrono::seconds(pc.idle_timeout_seconds);
  options.head_timeout = std::chrono::seconds(pc.head_timeout_seconds);
  std::unique_ptr<SessionProxy> sp(new SessionProxy());
  sp->server_ = std::make_unique<proxy::Server>(options);
  Result<std::string> bound =
      sp->server_->listen(proxy::ListenerOptions{.session = state.name,
                                                 .endpoint = "unix:" + runtime + "/proxy.sock",
                                                 .policy = *policy,
                                                 .log_path = repo.network_log_path(state.name)});
  if (!bound) return fail(bound.error());
  sp->endpoint_ = *bound;
  proxy::Server* server = sp->server_.get();
  sp->thread_ = std::thread([server] {
    try {
      server->run();
    } catch (const std::exception& e) {
      log::error("proxy") << "the session proxy stopped: " << e.what();
    }
  });
  return sp;
}

SessionProxy::~SessionProxy() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace para::session
