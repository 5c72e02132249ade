#pragma once

// The proxy of a network-isolated session: one listener on the Unix socket
// in the session's runtime directory, with the session's own policy
// (para's essential domains + config + the session's domains, deny lists,
// the user's pins), logging its decisions to <state>/<name>.network.log.
// The supervisor runs it on its own thread for as long as the agent runs.

#include <memory>
#include <string>
#include <thread>

#include "core/result.h"
#include "proxy/policy.h"
#include "proxy/server.h"
#include "session/repo.h"
#include "session/state.h"

namespace para::session {

/// The proxy policy of a session. Errors: invalid_argument naming the bad
/// domain entry (and where it came from).
Result<std::shared_ptr<const proxy::Policy>> session_proxy_policy(const Repo& repo,
                                                                  const SessionState& state);

class SessionProxy {
 public:
  /// Binds the session's socket and starts serving on a new thread.
  /// Errors: invalid_argument (policy), io (bind).
  static Result<std::unique_ptr<SessionProxy>> start(const Repo& repo, const SessionState& state);
  /// Stops serving and joins the thread.
  ~SessionProxy();
  const std::string& endpoint() const { return endpoint_; }

 private:
  SessionProxy() = default;
  std::unique_ptr<proxy::Server> server_;
  std::thread thread_;
  std::string endpoint_;
};

}  // namespace para::session
