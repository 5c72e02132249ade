// How para start registers a session's worktree. In a plain repository it
// writes the files `git worktree add` writes (one git process, for the
// branch, instead of three); these tests hold that registration to git's
// own, and check that repositories whose config changes what git writes for
// a worktree are still handed to git.

#include <doctest/doctest.h>

#include <filesystem>

#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace fs = std::filesystem;

namespace {

// The admin directory's files that describe a registration, with the
// worktree's path and branch replaced by placeholders so that two
// registrations can be compared.
std::string registration(const std::string& admin, const std::string& worktree,
                         const std::string& branch) {
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    return text;
  };
  std::string out;
  for (const char* file : {"gitdir", "commondir", "HEAD"}) {
    out += std::string(file) + ": " + read_text(admin + "/" + file);
  }
  out += ".git: " + read_text(worktree + "/.git");
  out = replace(out, fs::canonical(worktree).string(), "<worktree>");
  out = replace(out, fs::canonical(admin).string(), "<admin>");
  return replace(out, branch, "<branch>");
}

}  // namespace

TEST_SUITE("integration/sessions/worktree") {
  TEST_CASE("a new session's worktree is registered exactly as git registers one") {
    ParaRepo r;
    r.repo().write("src/main.c", "int main(void) { return 0; }\n");
    r.repo().commit_all("source");
    const std::string reference = r.path() + "/.para/worktrees/by-git";
    fs::create_directories(r.path() + "/.para/worktrees");
    r.repo().git_out(
        {"worktree", "add", "--quiet", "--no-checkout", "-b", "para/by-git", reference, "HEAD"});
    REQUIRE(r.para({"start", "by-para"}).exit_code == 0);
    const std::string worktree = r.worktree("by-para");
    const std::string common = r.path() + "/.git";

    CHECK(registration(common + "/worktrees/by-para", worktree, "para/by-para") ==
          registration(common + "/worktrees/by-git", reference, "para/by-git"));
    CHECK_FALSE(fs::exists(common + "/worktrees/by-para/locked"));

    // git sees a normal worktree on the new branch, checked out and clean.
    const std::string list = r.repo().git_out({"worktree", "list", "--porcelain"});
    CHECK(list.find("worktree " + fs::canonical(worktree).string() + "\nHEAD " +
                    r.repo().git_out({"rev-parse", "HEAD"}) + "\nbranch refs/heads/para/by-para") !=
          std::string::npos);
    CHECK(read_text(worktree + "/src/main.c") == "int main(void) { return 0; }\n");
    CHECK(r.repo().git_out({"status", "--porcelain"}, worktree).empty());
    CHECK(r.repo().git_out({"reflog", "show", "--format=%gs", "para/by-para"}) ==
          "branch: Created from HEAD");
    CHECK(r.repo().git({"config", "--get-regexp", "^branch\\.para/"}).exit_code != 0);

    // Pruning keeps it, commits land on the branch, and git removes it.
    r.repo().git_out({"worktree", "prune"});
    CHECK(fs::exists(common + "/worktrees/by-para"));
    r.repo().git_out({"-c", "user.name=t", "-c", "user.email=t@t", "commit", "--allow-empty", "-q",
                      "-m", "work"},
                     worktree);
    CHECK(r.repo().git_out({"log", "-1", "--format=%s", "para/by-para"}) == "work");
    CHECK(r.repo().git({"fsck", "--no-progress"}).exit_code == 0);
    r.repo().git_out({"worktree", "remove", "--force", worktree});
    CHECK_FALSE(fs::exists(common + "/worktrees/by-para"));
  }

  TEST_CASE("repositories whose config changes what git writes for a worktree are left to git") {
    ParaRepo r;
    // With worktreeConfig, git copies the main worktree's config.worktree.
    r.repo().git_out({"config", "extensions.worktreeConfig", "true"});
    r.repo().git_out({"config", "--worktree", "para.marker", "copied"});
    REQUIRE(r.para({"start", "wtconfig"}).exit_code == 0);
    CHECK(r.repo().git_out({"config", "--worktree", "para.marker"}, r.worktree("wtconfig")) ==
          "copied");

    // An admin directory name that is taken: git picks another.
    fs::create_directories(r.path() + "/.git/worktrees/taken");
    REQUIRE(r.para({"start", "taken"}).exit_code == 0);
    CHECK(read_text(r.path() + "/.git/worktrees/taken1/gitdir") ==
          fs::canonical(r.worktree("taken")).string() + "/.git\n");
    CHECK(r.repo().git_out({"status", "--porcelain"}, r.worktree("taken")).empty());
  }

  TEST_CASE("a branch git cannot create fails the start and leaves nothing behind") {
    ParaRepo r;
    // A stale lock on the ref, as a crashed git leaves one.
    fs::create_directories(r.path() + "/.git/refs/heads/para");
    write_text(r.path() + "/.git/refs/heads/para/locked.lock", "");
    const std::string worktrees = r.repo().git_out({"worktree", "list", "--porcelain"});
    Completed start = r.para({"start", "locked"});
    CHECK(start.exit_code != 0);
    CHECK(start.err.find("locked.lock") != std::string::npos);
    CHECK_FALSE(fs::exists(r.worktree("locked")));
    CHECK_FALSE(fs::exists(r.path() + "/.git/worktrees/locked"));
    CHECK_FALSE(fs::exists(r.state_dir() + "/locked.state"));
    CHECK(r.repo().git_out({"branch", "--list", "para/*"}).empty());
    CHECK(r.repo().git_out({"worktree", "list", "--porcelain"}) == worktrees);
    // And a second attempt changes nothing at all.
    const std::string before = r.snapshot();
    CHECK(r.para({"start", "locked"}).exit_code != 0);
    CHECK(r.snapshot() == before);
  }
}

}  // namespace para::test
