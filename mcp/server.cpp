#include "mcp/server.h"

#include <algorithm>

#include "core/log.h"
#include "mcp/session.h"
#include "mcp/uri_template.h"

namespace para::mcp {

using nlohmann::json;

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26"};
  return versions;
}

bool is_supported_protocol_version(std::string_view version) {
  const auto& v = supported_protocol_versions();
  return std::find(v.begin(), v.end(), version) != v.end();
}

namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool object_schema(const json& schema) {
  return schema.is_object() && schema.value("type", json()) == "object";
}

Error invalid(const std::string& what) {
  return fail(Errc::invalid_argument, what);
}

template <class T, class Key>
bool contains_key(const std::vector<std::shared_ptr<const T>>& items, const Key& key) {
  return std::any_of(items.begin(), items.end(), key);
}

}  // namespace

Server::Server(ServerInfo info, ServerOptions options)
    : info_(std::move(info)),
      options_(options),
      pool_(options.max_concurrent_requests, options.max_queued_requests) {}

Server::~Server() = default;

Result<void> Server::add_tool(Tool tool) {
  if (!valid_name(tool.name)) {
    return invalid("tool name '" + tool.name + "' must be 1-128 characters of [A-Za-z0-9_.-]");
  }
  if (!object_schema(tool.input_schema)) {
    return invalid("tool " + tool.name +
                   ": inputSchema must be a JSON Schema with \"type\": \"object\"");
  }
  if (!tool.output_schema.is_null() && !object_schema(tool.output_schema)) {
    return invalid("tool " + tool.name + ": outputSchema must have \"type\": \"object\"");
  }
  if (!tool.handler) return invalid("tool " + tool.name + " has no handler");
  {
    std::unique_lock lock(mutex_);
    if (contains_key(tools_, [&](const auto& t) { return t->name == tool.name; })) {
      return fail(Errc::already_exists, "a tool named " + tool.name + " is already registered");
    }
    tools_.push_back(std::make_shared<const Tool>(std::move(tool)));
    ++tools_generation_;
  }
  broadcast("notifications/tools/list_changed", nullptr);
  return {};
}

bool Server::remove_tool(const std::string& name) {
  {
    std::unique_lock lock(mutex_);
    auto it =
        std::find_if(tools_.begin(), tools_.end(), [&](const auto& t) { return t->name == name; });
    if (it == tools_.end()) return false;
    tools_.erase(it);
    ++tools_generation_;
  }
  broadcast("notifications/tools/list_changed", nullptr);
  return true;
}

Result<void> Server::add_resource(Resource resource) {
  if (resource.uri.empty() || resource.name.empty())
    return invalid("a resource needs a uri and a name");
  if (!resource.read) return invalid("resource " + resource.uri + " has no reader");
  {
    std::unique_lock lock(mutex_);
    if (contains_key(resources_, [&](const auto& r) { return r->uri == resource.uri; })) {
      return fail(Errc::already_exists, "a resource " + resource.uri + " is already registered");
    }
    resources_.push_back(std::make_shared<const Resource>(std::move(resource)));
  }
  broadcast("notifications/resources/list_changed", nullptr);
  return {};
}

Result<void> Server::add_resource_template(ResourceTemplate rt) {
  if (!is_valid_uri_template(rt.uri_template) || rt.uri_template.find('{') == std::string::npos) {
    return invalid("resource template '" + rt.uri_template +
                   "' is not a URI template with variables");
  }
  if (rt.name.empty()) return invalid("resource template " + rt.uri_template + " needs a name");
  if (!rt.read) return invalid("resource template " + rt.uri_template + " has no reader");
  {
    std::unique_lock lock(mutex_);
    if (contains_key(templates_,
                     [&](const auto& t) { return t->uri_template == rt.uri_template; })) {
      return fail(Errc::already_exists,
                  "a resource template " + rt.uri_template + " is already registered");
    }
    templates_.push_back(std::make_shared<const ResourceTemplate>(std::move(rt)));
  }
  broadcast("notifications/resources/list_changed", nullptr);
  return {};
}

Result<void> Server::add_prompt(Prompt prompt) {
  if (!valid_name(prompt.name)) {
    return invalid("prompt name '" + prompt.name + "' must be 1-128 characters of [A-Za-z0-9_.-]");
  }
  if (!prompt.handler) return invalid("prompt " + prompt.name + " has no handler");
  {
    std::unique_lock lock(mutex_);
    if (contains_key(prompts_, [&](const auto& p) { return p->name == prompt.name; })) {
      return fail(Errc::already_exists, "a prompt named " + prompt.name + " is already registered");
    }
    prompts_.push_back(std::make_shared<const Prompt>(std::move(prompt)));
  }
  broadcast("notifications/prompts/list_changed", nullptr);
  return {};
}

std::shared_ptr<const std::string> Server::tools_list_result(
    const std::function<std::string()>& build) {
  uint64_t generation = 0;
  {
    std::shared_lock lock(mutex_);
    if (tools_list_result_ && tools_list_generation_ == tools_generation_) {
      return tools_list_result_;
    }
    generation = tools_generation_;
  }
  auto text = std::make_shared<const std::string>(build());
  // Kept only if no tool came or went meanwhile: `build` may have seen
  // either set.
  std::unique_lock lock(mutex_);
  if (generation == tools_generation_) {
    tools_list_result_ = text;
    tools_list_generation_ = generation;
  }
  return text;
}

void Server::set_instructions(std::string instructions) {
  std::unique_lock lock(mutex_);
  info_.instructions = std::move(instructions);
}

ServerInfo Server::info() const {
  std::shared_lock lock(mutex_);
  return info_;
}

std::vector<std::shared_ptr<const Tool>> Server::tools() const {
  std::shared_lock lock(mutex_);
  return tools_;
}
std::vector<std::shared_ptr<const Resource>> Server::resources() const {
  std::shared_lock lock(mutex_);
  return resources_;
}
std::vector<std::shared_ptr<const ResourceTemplate>> Server::resource_templates() const {
  std::shared_lock lock(mutex_);
  return templates_;
}
std::vector<std::shared_ptr<const Prompt>> Server::prompts() const {
  std::shared_lock lock(mutex_);
  return prompts_;
}

std::shared_ptr<const Tool> Server::find_tool(const std::string& name) const {
  std::shared_lock lock(mutex_);
  for (const auto& t : tools_) {
    if (t->name == name) return t;
  }
  return nullptr;
}

std::shared_ptr<const Prompt> Server::find_prompt(const std::string& name) const {
  std::shared_lock lock(mutex_);
  for (const auto& p : prompts_) {
    if (p->name == name) return p;
  }
  return nullptr;
}

std::shared_ptr<Session> Server::create_session(std::shared_ptr<Outbound> standalone) {
  auto session = std::make_shared<Session>(*this, std::move(standalone));
  std::lock_guard lock(sessions_mutex_);
  std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions_.push_back(session);
  return session;
}

std::vector<std::shared_ptr<Session>> Server::live_sessions() {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(sessions_mutex_);
  std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  for (const auto& w : sessions_) {
    if (auto s = w.lock(); s && s->initialized() && !s->closed()) out.push_back(std::move(s));
  }
  return out;
}

void Server::broadcast(const std::string& method, const json& params) {
  for (const auto& s : live_sessions()) s->notify(method, params);
}

void Server::notify_resource_updated(const std::string& uri) {
  for (const auto& s : live_sessions()) {
    for (const std::string& touched : s->subscriptions_touched_by(uri)) {
      s->notify("notifications/resources/updated", json{{"uri", touched}});
    }
  }
}

void Server::notify_resource_list_changed() {
  broadcast("notifications/resources/list_changed", nullptr);
}

void Server::log(LogLevel level, const json& data, const std::string& logger) {
  for (const auto& s : live_sessions()) s->log(level, data, logger);
}

}  // namespace para::mcp
