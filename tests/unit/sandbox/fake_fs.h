#pragma once

// A described host for pure tests: a map of paths to kinds (ninja's
// VirtualFileSystem), plus the reference session layout the goldens use.

#include <map>
#include <string>
#include <vector>

#include "sandbox/policy.h"

namespace para::test {

class FakeFs final : public sandbox::FileSystemView {
 public:
  /// Adds a path and all its parents (as directories).
  void add(const std::string& path, sandbox::PathKind kind = sandbox::PathKind::directory);
  void link(const std::string& path, const std::string& target);
  sandbox::PathKind kind(const std::string& path) const override;
  std::vector<std::string> children(const std::string& dir) const override;
  std::string resolve(const std::string& path) const override;

 private:
  std::map<std::string, sandbox::PathKind> kinds_;
  std::map<std::string, std::string> links_;
};

/// The reference host: repository /work/repo, session "agent1", home
/// /home/dev with secrets and startup files, runtime /tmp/para-1000/x-agent1.
FakeFs reference_host();
sandbox::PolicyInputs reference_inputs(const FakeFs& fs, const std::string& profile);

}  // namespace para::test
