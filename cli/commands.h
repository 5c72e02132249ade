#pragma once

// The para CLI is a table of commands (ninja's tool table). Each family of
// commands lives in its own file and contributes its rows through one
// function declared here.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cli/args.h"
#include "core/result.h"

namespace para::cli {

/// Exit codes: 0 success, 1 the operation failed, 2 usage.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

using CommandFn = int (*)(const Args& args);

struct Command {
  CommandSpec spec;
  CommandFn run;
};

// One function per command family; each returns its rows of the table.
std::vector<Command> session_commands();     // start, finish, cancel, list, ...
std::vector<Command> sandbox_commands();     // sandbox run, sandbox explain
std::vector<Command> proxy_commands();       // proxy
std::vector<Command> mcp_commands();         // mcp init
std::vector<Command> docker_commands();      // docker build-image, docker pull, docker info
std::vector<Command> completion_commands();  // completion, __complete (hidden)
std::vector<Command> monitor_commands();     // monitor

/// para monitor (also bare `para` in a terminal).
int run_monitor(const Args& args);

/// The whole table, in --help order.
const std::vector<Command>& all_commands();

/// Runs `para <words...>`; returns the exit code.
int dispatch(const std::vector<std::string>& words);

/// Writes text to stdout with one write loop (no stdio buffering surprises).
void print(const std::string& text);
/// Pretty JSON plus a newline on stdout.
void print_json(const nlohmann::json& value);
/// "para: <message>" on stderr (or a JSON error object on stdout with --json);
/// returns kExitFailed. (kExitUsage is for command lines the parser refuses,
/// before any operation runs; an operation refusing a value is a failure.)
int report_error(const Error& error, bool json = false);

}  // namespace para::cli
