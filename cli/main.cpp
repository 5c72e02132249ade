// para: the companion CLI. Wiring only; everything worth testing lives in
// the module libraries.

#include <signal.h>

#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"
#include "core/process.h"
#include "sandbox/cache_overlay.h"
#include "session/supervisor.h"

int main(int argc, char** argv) {
#ifdef __linux__
  // Before anything else: it must pass inherited descriptors on to bwrap.
  if (argc > 1 && std::string(argv[1]) == para::sandbox::kCacheOverlaysCommand) {
    return para::sandbox::cache_overlays_main({argv + 2, argv + argc});
  }
#endif
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error return, not death
  para::close_inherited_fds_on_exec();
  try {
    std::vector<std::string> words(argv + 1, argv + argc);
    if (!words.empty() && words[0] == para::session::kSuperviseCommand) {
      return para::session::supervisor_main({words.begin() + 1, words.end()});
    }
    return para::cli::dispatch(words);
  } catch (const std::exception& e) {
    para::log::error("cli") << "unexpected error: " << e.what();
    return para::cli::kExitFailed;
  }
}
