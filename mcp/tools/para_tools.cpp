#include "mcp/tools/para_tools.h"

// Placeholder: the para tools are added here as thin adapters over core/
// (one file per tool family under mcp/tools/). Until then the server serves
// the protocol with no tools.

namespace para::mcp {

Result<void> register_para_tools(Server& server, const ParaToolsOptions& options) {
  (void)server;
  (void)options;
  return {};
}

std::string para_instructions() {
  return "para runs AI coding agents in parallel, each in its own git worktree and branch, "
         "inside a sandbox. Use the para_* tools to start sessions, watch them and finish them.";
}

}  // namespace para::mcp
