#include "cli/commands.h"

namespace para::cli {

std::vector<Command> session_commands() { return {}; }

}  // namespace para::cli
