#include "session/git.h"

#include <doctest/doctest.h>

#include "tests/support/support.h"

namespace para::session {
namespace {

using test::TempGitRepo;

std::string head_of(const TempGitRepo& repo, const std::string& branch) {
  std::string out = repo.git({"rev-parse", "refs/heads/" + branch}).out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST_SUITE("session/git") {
  TEST_CASE("a branch is read from its loose ref and from packed-refs, as git resolves it") {
    TempGitRepo repo;
    repo.git({"branch", "para/loose"});
    repo.git({"branch", "para/packed"});
    repo.git({"pack-refs", "--all"});  // moves both into packed-refs
    repo.git({"commit", "-q", "--allow-empty", "-m", "second"});
    repo.git({"branch", "-f", "para/loose", "HEAD"});  // a loose ref shadows the packed one
    const std::string git_dir = repo.path() + "/.git";
    CHECK(git_read_branch(git_dir, "para/loose") == head_of(repo, "para/loose"));
    CHECK(git_read_branch(git_dir, "para/packed") == head_of(repo, "para/packed"));
    CHECK(git_read_branch(git_dir, "para/loose") != git_read_branch(git_dir, "para/packed"));
    CHECK(git_branch_exists(git_dir, "para/packed"));
    CHECK_FALSE(git_read_branch(git_dir, "para/none"));
    CHECK_FALSE(git_read_branch(git_dir, "para/pack"));  // a prefix of a packed name
  }

  TEST_CASE("a ref file that is not a plain object name is not trusted") {
    TempGitRepo repo;
    const std::string git_dir = repo.path() + "/.git";
    test::write_text(git_dir + "/refs/heads/odd", "ref: refs/heads/main\n");
    CHECK_FALSE(git_read_branch(git_dir, "odd"));
    test::write_text(git_dir + "/refs/heads/junk", "not-a-sha\n");
    CHECK_FALSE(git_read_branch(git_dir, "junk"));
  }
}

}  // namespace
}  // namespace para::session
