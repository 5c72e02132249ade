#include "mcp/jsonrpc.h"

namespace para::mcp::jsonrpc {

json response(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json error_response(const json& id, const RpcError& error) {
  json err{{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) err["data"] = error.data;
  json out{{"jsonrpc", "2.0"}};
  if (!id.is_null()) out["id"] = id;
  out["error"] = std::move(err);
  return out;
}

json error_response(const json& id, int code, std::string message, json data) {
  return error_response(id, RpcError{code, std::move(message), std::move(data)});
}

json notification(const std::string& method, json params) {
  json out{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

json request(const json& id, const std::string& method, json params) {
  json out{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

bool is_valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

Classified classify(const json& message) {
  Classified out;
  auto invalid = [&](std::string why) {
    out.kind = Kind::invalid;
    out.error = RpcError{kInvalidRequest, "Invalid Request: " + std::move(why), nullptr};
    return out;
  };
  if (message.is_array()) {  // Session::receive handles batches of sessions that take them
    return invalid(
        "JSON-RPC batches are not supported (MCP removed batching in 2025-06-18); send one "
        "message at a time");
  }
  if (!message.is_object()) return invalid("a message must be a JSON object");
  const auto id_it = message.find("id");
  const bool has_id = id_it != message.end();
  if (has_id && is_valid_id(*id_it)) out.id = *id_it;
  const auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") {
    return invalid("\"jsonrpc\" must be \"2.0\"");
  }
  if (has_id && !is_valid_id(*id_it)) return invalid("\"id\" must be a string or an integer");

  const auto method = message.find("method");
  if (method != message.end()) {
    if (!method->is_string()) return invalid("\"method\" must be a string");
    const auto params = message.find("params");
    if (params != message.end() && !params->is_object()) {
      out.kind = Kind::invalid;
      out.error = RpcError{kInvalidParams, "Invalid params: \"params\" must be an object", nullptr};
      return out;
    }
    out.kind = has_id ? Kind::request : Kind::notification;
    return out;
  }
  const bool has_result = message.contains("result");
  const bool has_error = message.contains("error");
  if (has_result || has_error) {
    if (has_result == has_error) return invalid("a response has exactly one of result and error");
    if (!has_id) return invalid("a response needs an \"id\"");
    if (has_error && !message["error"].is_object()) return invalid("\"error\" must be an object");
    out.kind = Kind::response;
    return out;
  }
  return invalid("a message needs a \"method\" (request or notification) or a result/error");
}

std::string dump(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace para::mcp::jsonrpc
