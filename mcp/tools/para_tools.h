#pragma once

// para's tools, resources and prompts on the MCP server (thin adapters over
// core/). para-mcp-server calls register_para_tools() once at startup, before
// serving. This is the seam between the reusable mcp/ library and para.

#include <string>

#include "core/result.h"
#include "mcp/server.h"

namespace para::mcp {

struct ParaToolsOptions {
  std::string repo;  // absolute path of the repository to serve (--repo, default the cwd)
};

/// Registers every para tool (para_start ... para_wait), the para://
/// resources and templates, and the para_dispatch prompt on `server`.
/// Errors: whatever Server::add_* returns (a bug), or the repository being
/// unusable.
Result<void> register_para_tools(Server& server, const ParaToolsOptions& options);

/// The initialize result's `instructions`: how a model should use para.
std::string para_instructions();

}  // namespace para::mcp
