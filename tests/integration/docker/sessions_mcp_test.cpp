// Container sessions through para-mcp-server over stdio (the C++ test
// client of tests/integration/mcp): the same lifecycle as the CLI's.

#include <doctest/doctest.h>

#include "tests/integration/docker/session_helpers.h"
#include "tests/integration/mcp/mcp_client.h"
#include "tests/integration/sandbox/session_fixture.h"

namespace para::test {
namespace {

using nlohmann::json;

TEST_SUITE("docker/sessions") {
  TEST_CASE("through MCP: para_start with container=true, then para_finish") {
    ParaRepo r;
    container_config(r, "echo via-mcp > /workspace/mcp.txt\n");
    std::vector<std::string> argv = {"env", "-C", r.path()};
    for (const std::string& e : r.env()) argv.push_back(e);
    argv.push_back(built_binary("para-mcp-server"));
    StdioClient client(argv);
    client.initialize();
    json started = client.request(
        "tools/call",
        {{"name", "para_start"},
         {"arguments", {{"name", "mcpbox"}, {"prompt", "write"}, {"container", true}}}});
    INFO(started.dump());
    REQUIRE(started["result"].value("isError", false) == false);
    CHECK(started["result"]["structuredContent"]["session"]["name"] == "mcpbox");
    REQUIRE(wait_until([&] { return agent_done(r, "mcpbox"); }, std::chrono::seconds(60)));
    json finished = client.request(
        "tools/call", {{"name", "para_finish"},
                       {"arguments", {{"session", "mcpbox"}, {"commit_message", "from mcp"}}}});
    INFO(finished.dump());
    REQUIRE(finished["result"].value("isError", false) == false);
    CHECK(r.repo().git({"show", "para/mcpbox:mcp.txt"}).out == "via-mcp\n");
    CHECK(session_containers("mcpbox").empty());
  }
}

}  // namespace
}  // namespace para::test
