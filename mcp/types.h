#pragma once

// The data a server registers: tools, resources, resource templates and
// prompts, plus content-block helpers. Registries keep registration order
// (the order of tools/list etc.), as the TypeScript SDK's McpServer does.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace para::mcp {

class ToolContext;

/// RFC 5424 severities as MCP names them, in increasing order.
enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };
const char* log_level_name(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view name);

// ---- content blocks (tools/call results, prompt messages) -----------------

nlohmann::json text_content(std::string text);
nlohmann::json image_content(std::string base64_data, std::string mime_type);
nlohmann::json audio_content(std::string base64_data, std::string mime_type);
/// An embedded resource with text contents ({"type":"resource","resource":{uri,mimeType,text}}).
nlohmann::json embedded_text_resource(std::string uri, std::string mime_type, std::string text);
/// A link to a resource the client can read ({"type":"resource_link",...}).
nlohmann::json resource_link(std::string uri, std::string name, std::string mime_type = {});

// ---- tools -----------------------------------------------------------------

/// What a tool handler returns. `content` is the readable rendering;
/// `structured` is checked against the tool's output schema. When a tool
/// with structured output leaves `content` empty, the server adds the JSON
/// text of `structured` (the spec's backwards-compatibility SHOULD).
struct ToolResult {
  nlohmann::json content = nlohmann::json::array();
  std::optional<nlohmann::json> structured;
  bool is_error = false;

  static ToolResult text(std::string text);
  /// A failed operation: isError with text that says what to do next.
  static ToolResult error(std::string text);
};

/// A tool handler. Runs on a worker thread, never on the transport's reader,
/// so it may block (para_wait). Returning an Error gives an isError result
/// whose text is the error's message. An exception is caught: isError result,
/// logged as a bug.
using ToolHandler =
    std::function<Result<ToolResult>(const nlohmann::json& arguments, ToolContext&)>;

struct Tool {
  std::string name;  // 1-128 of [A-Za-z0-9_.-]
  std::string title;
  std::string description;
  nlohmann::json input_schema;             // a JSON Schema with "type":"object"
  nlohmann::json output_schema = nullptr;  // null = no structured output
  nlohmann::json annotations = nullptr;    // {readOnlyHint, destructiveHint, ...}; null = none
  ToolHandler handler;
};

// ---- resources ---------------------------------------------------------------

/// resources/read result contents: an array of {uri, mimeType?, text|blob}.
using ResourceReader = std::function<Result<nlohmann::json>(const std::string& uri, ToolContext&)>;

/// A fixed resource. Reading an unknown URI is -32002; a reader's Error with
/// Errc::not_found is -32002 too, any other Error is -32603 with its message.
struct Resource {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  nlohmann::json annotations = nullptr;
  ResourceReader read;
};

/// Completion candidates for one argument: (argument name, typed prefix,
/// other arguments already given) -> values. At most 100 are sent.
using Completer = std::function<std::vector<std::string>(
    const std::string& argument, const std::string& value, const nlohmann::json& context)>;

/// A URI template (RFC 6570 level 1: "para://sessions/{name}/log"; a
/// variable matches one or more characters other than '/'). `read` receives
/// the variables. `list`, when set, adds concrete resources to resources/list.
struct ResourceTemplate {
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  nlohmann::json annotations = nullptr;
  std::function<Result<nlohmann::json>(
      const std::string& uri, const std::map<std::string, std::string>& variables, ToolContext&)>
      read;
  std::function<std::vector<Resource>()> list;  // optional; Resource::read is ignored
  Completer complete;                           // optional, for completion/complete
};

// ---- prompts -------------------------------------------------------------------

struct PromptArgument {
  std::string name;
  std::string title;
  std::string description;
  bool required = false;
};

/// prompts/get result: {"description"?, "messages": [{role, content}]}.
/// Arguments arrive as strings (the spec's map<string,string>); a missing
/// required argument is rejected with -32602 before the handler runs.
using PromptHandler = std::function<Result<nlohmann::json>(
    const std::map<std::string, std::string>& arguments, ToolContext&)>;

struct Prompt {
  std::string name;
  std::string title;
  std::string description;
  std::vector<PromptArgument> arguments;
  PromptHandler handler;
  Completer complete;  // optional
};

/// {"role": role, "content": content} for prompt results.
nlohmann::json prompt_message(std::string role, nlohmann::json content);

}  // namespace para::mcp
