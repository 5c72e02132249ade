#include "session/text.h"

#include <doctest/doctest.h>

namespace para::session {

using nlohmann::json;

TEST_SUITE("session/text") {
  TEST_CASE("a start whose state could not be read again is shown, not a crash") {
    // describe_session's placeholder for a state file it could not read.
    const json corrupt = {
        {"session", {{"name", "s"}, {"status", "Corrupt"}, {"problem", "EMFILE"}}},
        {"log_path", "/r/.para/state/s.log"},
        {"agent_launched", true}};
    const std::string text = start_text(corrupt);
    CHECK(text.find("Session 's'") != std::string::npos);
    CHECK(text.find("Agent:    unknown") != std::string::npos);
    const json running = {
        {"session", {{"name", "s"}, {"agent", {{"state", "running"}, {"pid", 42}}}}},
        {"log_path", "/l"},
        {"agent_launched", true}};
    CHECK(start_text(running).find("running (pid 42)") != std::string::npos);
  }
}

}  // namespace para::session
