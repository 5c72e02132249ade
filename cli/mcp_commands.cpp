// para mcp init: register para-mcp-server with Claude Code through the
// project's .mcp.json (para's command), keeping every other server.

#include <filesystem>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/json_input.h"
#include "core/process.h"
#include "session/repo.h"

namespace para::cli {
namespace {

using nlohmann::json;

int run_mcp_init(const Args& a) {
  Result<session::Repo> repo = session::open_repo(session::current_dir());
  if (!repo) return report_error(repo.error(), a.json());
  const std::string name = a.value("name").value_or("para");
  json entry;
  if (auto url = a.value("http")) {
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      report_error(
          fail(Errc::invalid_argument, "--http takes a URL such as http://127.0.0.1:8765/mcp"));
      return kExitUsage;
    }
    entry = {{"type", "http"}, {"url", *url}};
  } else {
    Result<std::string> server = sibling_program("para-mcp-server");
    if (!server) return report_error(server.error(), a.json());
    entry = {
        {"type", "stdio"}, {"command", *server}, {"args", json::array({"--repo", repo->root})}};
  }
  const std::string path = repo->root + "/.mcp.json";
  json doc = json::object();
  if (path_exists(path)) {
    Result<std::string> text = read_file(path, 4 << 20);
    if (!text) return report_error(text.error(), a.json());
    if (text->find_first_not_of(" \t\r\n") != std::string::npos) {
      doc = parse_untrusted_json(*text);
      if (doc.is_discarded() || !doc.is_object()) {
        return report_error(fail(Errc::invalid_argument,
                                 path + " is not a JSON object; fix it (or move it away) and run "
                                        "para mcp init again"),
                            a.json());
      }
    }
  }
  if (!doc.contains("mcpServers") || !doc["mcpServers"].is_object())
    doc["mcpServers"] = json::object();
  const bool existed = doc["mcpServers"].contains(name);
  const bool changed = !existed || doc["mcpServers"][name] != entry;
  doc["mcpServers"][name] = entry;
  if (changed) {
    if (auto w = write_file_atomic(path, doc.dump(2) + "\n"); !w)
      return report_error(w.error(), a.json());
  }
  // The entry holds this machine's paths: keep it out of commits, as para does.
  if (auto r = session::ensure_ignored(*repo, ".mcp.json"); !r) {
    return report_error(r.error(), a.json());
  }
  const std::string verb = !existed ? "added" : changed ? "updated" : "already up to date";
  if (a.json()) {
    print_json({{"file", path}, {"server", name}, {"entry", entry}, {"result", verb}});
  } else {
    print("MCP server '" + name + "' " + verb + " in " + path +
          "\nClaude Code picks it up in this directory (claude mcp list).\n");
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> mcp_commands() {
  return {
      {{.path = {"mcp", "init"},
        .summary = "Register para's MCP server in the project's .mcp.json (Claude Code)",
        .options = {{"http", 0, "URL",
                     "Register a running HTTP server (e.g. http://127.0.0.1:8765/mcp)"},
                    {"name", 0, "NAME", "The server's name in .mcp.json (default para)"},
                    {"json", 0, "", "Print the result as JSON"}},
        .details = "Without --http the entry runs para-mcp-server over stdio for this repository."},
       run_mcp_init},
  };
}

}  // namespace para::cli
