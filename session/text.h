#pragma once

// Readable renderings of the session operations' JSON results (ops.h), for
// the CLI's default output and the MCP tools' text content.

#include <nlohmann/json.hpp>

#include <string>

namespace para::session {

/// j[key] when it is a string, else `fallback`.
std::string str(const nlohmann::json& j, const char* key, const std::string& fallback = "");
/// "running (pid 12)", "exited (code 3)", ... from an object with "agent".
std::string agent_summary(const nlohmann::json& with_agent);

std::string start_text(const nlohmann::json& result);
std::string finish_text(const nlohmann::json& result);
std::string cancel_text(const nlohmann::json& result);
std::string recover_text(const nlohmann::json& result);
std::string list_text(const nlohmann::json& result, bool verbose);
std::string status_text(const nlohmann::json& result);
std::string status_show_text(const nlohmann::json& result);
std::string status_summary_text(const nlohmann::json& result);
std::string clean_text(const nlohmann::json& result);
std::string diff_text(const nlohmann::json& result);
std::string wait_text(const nlohmann::json& result);
std::string logs_text(const nlohmann::json& result);
/// The result's "message" and a newline.
std::string message_text(const nlohmann::json& result);

}  // namespace para::session
