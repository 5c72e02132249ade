#pragma once

// JSON-RPC batches. MCP 2025-03-26 requires servers to accept them; later
// revisions removed them, so a session that negotiated another version gets
// -32600 for an array, as before.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "mcp/session.h"

namespace para::mcp {

/// Whether a session that negotiated `protocol_version` takes batches.
inline bool takes_batches(const std::string& protocol_version) {
  return protocol_version == "2025-03-26";
}

/// Every element goes through session.receive(); the responses to its
/// requests come back through `reply` as one array, in the order they were
/// answered, once all are (nothing at all when no element is a request).
/// Messages the requests send meanwhile (progress, logs) pass on at once.
/// initialize may not be part of a batch; an empty batch is one error.
void receive_batch(Session& session, const nlohmann::json& batch, std::shared_ptr<Outbound> reply);

}  // namespace para::mcp
