#pragma once

// JSON-RPC 2.0 as MCP uses it: message builders, error codes, and the
// classification of an incoming message. Pure; no I/O. The TypeScript SDK's
// types/enums.ts counterpart.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace para::mcp::jsonrpc {

using nlohmann::json;

// Standard JSON-RPC codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// MCP 2025-11-25: resources/read of an unknown URI.
inline constexpr int kResourceNotFound = -32002;
// The TypeScript SDK's transport-level errors (HTTP 4xx bodies).
inline constexpr int kConnectionClosed = -32000;
inline constexpr int kRequestTimeout = -32001;

/// A JSON-RPC error object.
struct RpcError {
  int code = kInternalError;
  std::string message;
  json data;  // null = no "data" member
};

/// {"jsonrpc":"2.0","id":id,"result":result}
json response(const json& id, json result);
/// An error response. A null `id` omits the member (MCP's RequestId is never
/// null; the 2025-11-25 schema makes it optional on errors).
json error_response(const json& id, const RpcError& error);
json error_response(const json& id, int code, std::string message, json data = nullptr);
/// {"jsonrpc":"2.0","method":method[,"params":params]}; null params are omitted.
json notification(const std::string& method, json params = nullptr);
json request(const json& id, const std::string& method, json params = nullptr);

enum class Kind { request, notification, response, invalid };

/// What an incoming message is. `invalid` comes with an error to answer
/// (with `id` when one could be read). Checks: an object, "jsonrpc":"2.0",
/// a string method, an id that is a string or an integer, params that are an
/// object when present; a response has exactly one of result/error.
struct Classified {
  Kind kind = Kind::invalid;
  RpcError error;  // set when kind == invalid
  json id;         // the id when there is a valid one, else null
};
Classified classify(const json& message);

/// Whether a value can be an MCP RequestId (string or integer).
bool is_valid_id(const json& id);

/// Serialises a message as one line of compact JSON, without the newline.
/// Never throws: invalid UTF-8 in strings is replaced by U+FFFD.
std::string dump(const json& message);

}  // namespace para::mcp::jsonrpc
