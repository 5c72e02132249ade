#pragma once

// Sandboxed sessions through the built para: a ParaRepo whose user config
// names the agent script and pins the test names to loopback, so that the
// session proxy sends allowed.test and denied.test to the test's servers.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {

/// Writes the whole user config: [agent] command = [agent], the proxy pins
/// for allowed.test and denied.test, then `more` (TOML) verbatim.
void write_user_config(const ParaRepo& r, const std::string& agent, const std::string& more = "");

/// Whether the session's agent and its supervisor are gone.
bool agent_done(const ParaRepo& r, const std::string& name);

/// The session's agent output (its .log file).
std::string session_log(const ParaRepo& r, const std::string& name);

/// `para args...` in the repository with `changes` applied to the environment ("K=V"; "K=" unsets).
Completed para_with_env(const ParaRepo& r, const std::vector<std::string>& args,
                        const std::vector<std::string>& changes, const std::string& cwd = "");

/// The state file of a session, parsed.
nlohmann::json session_state(const ParaRepo& r, const std::string& name);

}  // namespace para::test
