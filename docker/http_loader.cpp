// Finds the docker/http.h implementation: linked in, or dlopen'ed once.

#include <dlfcn.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/process.h"
#include "docker/http.h"

// Defined only when the executable links docker_http_linked_dep.
extern "C" const para::docker::HttpModule* para_docker_http_v1() __attribute__((weak));

namespace para::docker {
namespace {

constexpr const char* kModuleName = "libpara-docker-http.so";

Result<const HttpModule*> load_module() {
  // Beside the executable (the build tree, or a copy of para run from its
  // own directory), then where meson installs it. Only absolute places: a
  // relative one would load a library from the current directory, which
  // may be a repository an agent wrote.
  std::vector<std::string> places;
  const std::string exe = self_executable();
  if (exe.starts_with("/")) places.push_back(exe.substr(0, exe.rfind('/')));
  places.push_back(PARA_MODULE_DIR);
  std::string tried, why;
  for (const std::string& dir : places) {
    const std::string path = dir + "/" + kModuleName;
    tried += (tried.empty() ? "" : ", ") + path;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      if (const char* e = ::dlerror();
          e && std::string(e).find("No such file") == std::string::npos)
        why = e;
      continue;
    }
    using Entry = const HttpModule* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "para_docker_http_v1"));
    const HttpModule* module = entry != nullptr ? entry() : nullptr;
    if (module == nullptr || module->abi != kHttpAbi) {
      return fail(Errc::unavailable, path +
                                         " is from another build of para; reinstall para so "
                                         "that it and its modules match");
    }
    log::debug("docker") << "loaded " << path;
    return module;
  }
  return fail(Errc::unavailable, "para's Docker support (" + std::string(kModuleName) +
                                     ") could not be loaded from " + tried +
                                     (why.empty() ? "" : " (" + why + ")") + "; reinstall para");
}

}  // namespace

Result<const HttpModule*> http_module() {
  if (&para_docker_http_v1 != nullptr) return para_docker_http_v1();
  static std::mutex mutex;
  static std::optional<Result<const HttpModule*>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (!loaded) loaded = load_module();
  return *loaded;
}

}  // namespace para::docker
