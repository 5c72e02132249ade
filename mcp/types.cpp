#include "mcp/types.h"

#include <array>

namespace para::mcp {

using nlohmann::json;

namespace {
constexpr std::array<const char*, 8> kLevelNames = {"debug", "info",     "notice", "warning",
                                                    "error", "critical", "alert",  "emergency"};
}

const char* log_level_name(LogLevel level) {
  return kLevelNames[static_cast<size_t>(level)];
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (name == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

json text_content(std::string text) {
  return json{{"type", "text"}, {"text", std::move(text)}};
}

json image_content(std::string base64_data, std::string mime_type) {
  return json{
      {"type", "image"}, {"data", std::move(base64_data)}, {"mimeType", std::move(mime_type)}};
}

json audio_content(std::string base64_data, std::string mime_type) {
  return json{
      {"type", "audio"}, {"data", std::move(base64_data)}, {"mimeType", std::move(mime_type)}};
}

json embedded_text_resource(std::string uri, std::string mime_type, std::string text) {
  return json{
      {"type", "resource"},
      {"resource",
       {{"uri", std::move(uri)}, {"mimeType", std::move(mime_type)}, {"text", std::move(text)}}}};
}

json resource_link(std::string uri, std::string name, std::string mime_type) {
  json out{{"type", "resource_link"}, {"uri", std::move(uri)}, {"name", std::move(name)}};
  if (!mime_type.empty()) out["mimeType"] = std::move(mime_type);
  return out;
}

ToolResult ToolResult::text(std::string text) {
  ToolResult r;
  r.content.push_back(text_content(std::move(text)));
  return r;
}

ToolResult ToolResult::error(std::string text) {
  ToolResult r = ToolResult::text(std::move(text));
  r.is_error = true;
  return r;
}

json prompt_message(std::string role, json content) {
  return json{{"role", std::move(role)}, {"content", std::move(content)}};
}

}  // namespace para::mcp
