#pragma once

// Helpers for the container session tests (sessions_test.cpp,
// sessions_mcp_test.cpp): a ParaRepo configured to run its agent in the
// busybox test image, and lookups of the session containers.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "docker/containers.h"
#include "tests/docker/fixtures.h"
#include "tests/integration/sandbox/session_fixture.h"
#include "tests/integration/sessions/para_repo.h"

namespace para::test {

/// The secret a forwarded key carries: it must reach the container's
/// environment and nothing else.
inline constexpr const char* kSecret = "sk-para-test-5e3c7d1f0a9b";

/// The user config for container sessions: the test image as the default,
/// the agent as `/bin/sh -c SCRIPT` inside it (the script is one argv
/// element for the image's sh, never a host shell), then `docker_more`
/// (TOML lines of the [docker] table).
inline void container_config(const ParaRepo& r, const std::string& script,
                             const std::string& docker_more = "") {
  namespace dt = docker::test;
  dt::ensure_test_image(dt::test_client());
  write_user_config(
      r, "/bin/sh",
      "[docker]\ndefault_image = \"" + std::string(dt::kTestImage) + "\"\n" + docker_more);
  const std::string path = r.repo().home() + "/.config/para/config.toml";
  std::string text = read_text(path);
  const std::string old = "command = [\"/bin/sh\"]";
  text.replace(text.find(old), old.size(),
               "command = " + nlohmann::json::array({"/bin/sh", "-c", script}).dump());
  write_text(path, text);
}

/// The containers labelled with this session name (any repo).
inline std::vector<docker::ContainerSummary> session_containers(const std::string& name) {
  Result<std::vector<docker::ContainerSummary>> found =
      docker::list_containers(docker::test::test_client(), {{docker::kSessionLabel, name}});
  REQUIRE(found);
  return *found;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Every regular file under `dir`, concatenated (state files, logs, status files).
inline std::string all_files(const std::string& dir) {
  std::string out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out += read_text(e.path().string());
  }
  return out;
}

}  // namespace para::test
