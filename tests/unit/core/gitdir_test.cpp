#include "core/gitdir.h"

#include <doctest/doctest.h>
#include <limits.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "tests/support/support.h"

namespace para {
namespace {

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  REQUIRE(::realpath(path.c_str(), buf) != nullptr);
  return buf;
}

// What git itself says for a directory: the oracle find_git_dirs must match.
GitDirs git_says(const test::TempGitRepo& repo, const std::string& dir) {
  const std::string out = repo.git_out({"-C", dir, "rev-parse", "--path-format=absolute",
                                        "--show-toplevel", "--git-dir", "--git-common-dir"});
  std::istringstream lines(out);
  GitDirs d;
  std::getline(lines, d.toplevel);
  std::getline(lines, d.git_dir);
  std::getline(lines, d.common_dir);
  return GitDirs{real(d.toplevel), real(d.git_dir), real(d.common_dir)};
}

void check_same(const test::TempGitRepo& repo, const std::string& dir) {
  CAPTURE(dir);
  std::optional<GitDirs> found = find_git_dirs(dir);
  REQUIRE(found);
  const GitDirs expected = git_says(repo, dir);
  CHECK(found->toplevel == expected.toplevel);
  CHECK(found->git_dir == expected.git_dir);
  CHECK(found->common_dir == expected.common_dir);
}

}  // namespace

TEST_SUITE("core/gitdir") {
  TEST_CASE("the main work tree, a subdirectory and a linked worktree match git rev-parse") {
    test::TempGitRepo repo;
    std::filesystem::create_directories(repo / "src/deep");
    check_same(repo, repo.path());
    check_same(repo, repo / "src/deep");
    repo.git_out({"worktree", "add", "-q", "-b", "side", repo / "wt"});
    std::filesystem::create_directories(repo / "wt/sub");
    check_same(repo, repo / "wt");
    check_same(repo, repo / "wt/sub");
    CHECK(find_git_dirs(repo / "wt")->git_dir == real(repo / ".git/worktrees/wt"));
  }

  TEST_CASE("a .git file with a relative gitdir (a submodule's layout) matches git") {
    test::TempGitRepo repo;
    // The layout `git submodule absorbgitdirs` leaves: the module's git
    // directory under the superproject's .git, named by a relative path.
    test::TempGitRepo inner;
    std::filesystem::create_directories(repo / ".git/modules");
    std::filesystem::rename(inner / ".git", repo / ".git/modules/lib");
    std::filesystem::rename(inner.path(), repo / "lib");
    std::filesystem::create_directories(inner.path());  // TempDir removes it again
    test::write_text(repo / "lib/.git", "gitdir: ../.git/modules/lib\n");
    repo.git_out({"-C", repo / "lib", "config", "core.worktree", "../../../lib"});
    // core.worktree is set, as submodules have it: that is git's to decide.
    CHECK_FALSE(find_git_dirs(repo / "lib"));
    repo.git_out({"-C", repo / "lib", "config", "--unset", "core.worktree"});
    check_same(repo, repo / "lib");
    CHECK(find_git_dirs(repo / "lib")->git_dir == real(repo / ".git/modules/lib"));
  }

  TEST_CASE("layouts that are git's to decide give nullopt") {
    test::TempGitRepo repo;
    CHECK_FALSE(find_git_dirs(repo / ".git"));       // inside the git directory
    CHECK_FALSE(find_git_dirs(repo / ".git/refs"));  // deeper inside it

    test::TempDir plain;
    CHECK_FALSE(find_git_dirs(plain.path()));  // no repository at all

    test::TempDir bare_home;
    test::run_cmd({"git", "init", "-q", "--bare", bare_home / "b.git"}, repo.env(), "/");
    CHECK_FALSE(find_git_dirs(bare_home / "b.git"));

    repo.git_out({"config", "core.bare", "true"});
    CHECK_FALSE(find_git_dirs(repo.path()));
    repo.git_out({"config", "core.bare", "false"});
    CHECK(find_git_dirs(repo.path()));

    repo.git_out({"config", "include.path", "/dev/null"});
    CHECK_FALSE(find_git_dirs(repo.path()));
    repo.git_out({"config", "--unset", "include.path"});
    CHECK(find_git_dirs(repo.path()));

    ::setenv("GIT_CEILING_DIRECTORIES", repo.path().c_str(), 1);
    CHECK_FALSE(find_git_dirs(repo.path()));
    ::unsetenv("GIT_CEILING_DIRECTORIES");
  }

  TEST_CASE("a hostile or broken .git entry is left to git, never followed blindly") {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "w");
    // Pointing at a directory that is no git directory (a credential store, say).
    std::filesystem::create_directories(dir / "secrets");
    test::write_text(dir / "w/.git", "gitdir: " + dir / "secrets" + "\n");
    CHECK_FALSE(find_git_dirs(dir / "w"));
    test::write_text(dir / "w/.git", "gitdir: /nonexistent/path\n");
    CHECK_FALSE(find_git_dirs(dir / "w"));
    test::write_text(dir / "w/.git", "not a gitdir line\n");
    CHECK_FALSE(find_git_dirs(dir / "w"));
    test::write_text(dir / "w/.git", "gitdir: " + std::string(8192, 'a') + "\n");  // over 4 KiB
    CHECK_FALSE(find_git_dirs(dir / "w"));
    test::write_text(dir / "w/.git", "");
    CHECK_FALSE(find_git_dirs(dir / "w"));
    // A symlink named .git, even to a real git directory.
    test::TempGitRepo repo;
    std::filesystem::remove(dir / "w/.git");
    std::filesystem::create_directory_symlink(repo / ".git", dir / "w/.git");
    CHECK_FALSE(find_git_dirs(dir / "w"));
    // A commondir that leads nowhere.
    repo.git_out({"worktree", "add", "-q", "-b", "side", repo / "wt"});
    test::write_text(repo / ".git/worktrees/wt/commondir", "../../../nowhere\n");
    CHECK_FALSE(find_git_dirs(repo / "wt"));
    CHECK_FALSE(find_git_dirs(dir / "does-not-exist"));
  }

  TEST_CASE("the branch a HEAD names") {
    test::TempGitRepo repo;
    CHECK(read_head_branch(repo / ".git") == std::optional<std::string>("main"));
    repo.git_out({"checkout", "-q", "--detach"});
    CHECK_FALSE(read_head_branch(repo / ".git"));
    CHECK_FALSE(read_head_branch(repo / "missing"));
  }
}

}  // namespace para
