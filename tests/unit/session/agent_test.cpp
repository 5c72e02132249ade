#include "session/agent.h"

#include <doctest/doctest.h>

namespace para::session {

TEST_SUITE("session/agent") {
  const AgentValues kValues{.prompt = "do {session} $(x)",
                            .prompt_file = "/s/t.task",
                            .session = "s1",
                            .worktree = "/r/.para/worktrees/s1"};

  TEST_CASE("placeholders are replaced inside elements, each element stays one argument") {
    Result<std::vector<std::string>> argv = expand_agent_command(
        {"claude", "-p", "{prompt}", "--file={prompt_file}", "{session}@{worktree}", "{other}"},
        kValues);
    REQUIRE(argv);
    CHECK(*argv == std::vector<std::string>{"claude", "-p", "do {session} $(x)", "--file=/s/t.task",
                                            "s1@/r/.para/worktrees/s1", "{other}"});
  }

  TEST_CASE("substituted text is never expanded again") {
    Result<std::vector<std::string>> argv = expand_agent_command({"{prompt}{prompt}"}, kValues);
    REQUIRE(argv);
    CHECK((*argv)[0] == "do {session} $(x)do {session} $(x)");
  }

  TEST_CASE("an empty template and an over-long argument are refused with advice") {
    CHECK_FALSE(expand_agent_command({}, kValues));
    AgentValues big = kValues;
    big.prompt.assign(kMaxArgLength + 1, 'x');
    Result<std::vector<std::string>> argv = expand_agent_command({"a", "{prompt}"}, big);
    REQUIRE_FALSE(argv);
    CHECK(argv.error().message.find("{prompt_file}") != std::string::npos);
    CHECK(expand_agent_command({"a", "{prompt_file}"}, big).has_value());
  }

  TEST_CASE("the agent instructions name the session and para status/finish") {
    const std::string text = agent_instructions("s1");
    CHECK(text.find("`s1`") != std::string::npos);
    CHECK(text.find("para status") != std::string::npos);
    CHECK(text.find("para finish") != std::string::npos);
  }
}

}  // namespace para::session
