// A small program on para's session library: prints the sessions of the
// repository in the current directory, one per line, with their agents.
//
//   build/examples/list-sessions

#include <cstdio>

#include "session/ops.h"
#include "session/repo.h"

int main() {
  using namespace para::session;
  para::Result<Repo> repo = open_repo(current_dir());
  if (!repo) {
    std::fprintf(stderr, "list-sessions: %s\n", repo.error().message.c_str());
    return 1;
  }
  para::Result<nlohmann::json> list = list_sessions(*repo, ListRequest{});
  if (!list) {
    std::fprintf(stderr, "list-sessions: %s\n", list.error().message.c_str());
    return 1;
  }
  for (const nlohmann::json& s : (*list)["sessions"]) {
    std::printf("%-30s %-10s agent %s\n", s["name"].get<std::string>().c_str(),
                s["status"].get<std::string>().c_str(),
                s["agent"]["state"].get<std::string>().c_str());
  }
  return 0;
}
