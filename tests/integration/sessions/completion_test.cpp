// Shell completion through the real shells: the script `para completion
// SHELL` prints is loaded into bash, zsh and fish, which then complete
// command lines in a repository with live and archived sessions. The
// scripts ask the built para (`__complete`) for every candidate.

#include <doctest/doctest.h>

#include <filesystem>

#include "core/process.h"
#include "tests/integration/sessions/para_repo.h"

namespace para::test {
namespace {

// A repository with sessions "alpha" and "beta" and an archived "gone".
struct CompletionRepo {
  ParaRepo r;
  CompletionRepo() {
    for (const char* name : {"alpha", "beta", "gone"}) {
      Completed c = r.para({"start", name});
      REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    }
    Completed cancel = r.para({"cancel", "gone", "--force"});
    REQUIRE_MESSAGE(cancel.exit_code == 0, cancel.err);
    std::filesystem::create_directories(r.path() + "/docs/guide");
    write_text(r.path() + "/docs/notes.txt", "notes\n");
  }

  std::string script(const std::string& shell) const {
    Completed c = r.para({"completion", shell});
    REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    return c.out;
  }

  // What the shell offers for `line` (the cursor at its end), one per line.
  std::string complete(const std::string& shell, const std::string& line) const {
    const std::string file = r.scratch() + "/para-completion." + shell;
    write_text(file, script(shell));
    std::vector<std::string> argv;
    if (shell == "bash") {
      // COMP_WORDS as bash splits the line; an ending space starts a new word.
      argv = {"bash",
              "--norc",
              "-c",
              "source \"$1\"; eval \"COMP_WORDS=($2)\"; "
              "[[ $2 == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
              "_para; (( ${#COMPREPLY[@]} )) && printf '%s\\n' \"${COMPREPLY[@]}\"; true",
              "bash",
              file,
              line};
    } else if (shell == "zsh") {
      // compsys calls _para with $words and $CURRENT set; compadd and _files
      // are replaced by functions that print what they were given.
      argv = {"zsh",
              "-f",
              "-c",
              "source \"$1\"; compadd() { local -a w=(\"${@[$@[(i)--]+1,-1]}\"); "
              "(( $#w )) && print -rl -- $w; true }; "
              "_files() { print '<files>' }; words=(${(z)2}); "
              "[[ $2 == *' ' ]] && words+=(''); CURRENT=${#words}; _para",
              "zsh",
              file,
              line};
    } else {
      argv = {"fish", "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", file, line};
    }
    Completed c = run_cmd(argv, r.env(), r.path());
    INFO(shell, " stderr: ", c.err);
    REQUIRE(c.exit_code == 0);
    return c.out;
  }
};

bool has_shell(const char* name) {
  return run_cmd({"sh", "-c", std::string("command -v ") + name}, current_environment(), "/")
             .exit_code == 0;
}

}  // namespace

TEST_SUITE("sessions/completion") {
  TEST_CASE("bash, zsh and fish complete commands, options, sessions, keys and files") {
    for (const char* shell : {"bash", "zsh", "fish"}) {
      if (!has_shell(shell)) {
        // .ci/setup installs all three; a developer machine may lack one.
        MESSAGE("SKIPPED: ", shell, " is not installed");
        continue;
      }
      const std::string name = shell;
      CAPTURE(name);
      const CompletionRepo c;
      CHECK(c.complete(shell, "para fi") == "finish\n");
      CHECK(c.complete(shell, "para config s") == "set\nshow\n");
      CHECK(c.complete(shell, "para sandbox ") == "explain\nrun\n");
      CHECK(c.complete(shell, "para diff ") == "alpha\nbeta\n");
      CHECK(c.complete(shell, "para finish 'the message' a") == "alpha\n");
      CHECK(c.complete(shell, "para recover ") == "gone\n");
      CHECK(c.complete(shell, "para config set sandbox.pro") == "sandbox.profile\n");
      CHECK(c.complete(shell, "para start x --sandbox-profile standard-p") == "standard-proxied\n");
      CHECK(c.complete(shell, "para cancel --") == "--force\n--help\n--json\n");
      CHECK(c.complete(shell, "para status --tests f") == "failed\n");
      // Commands after --, and file arguments, are the shell's file names.
      const std::string files = c.complete(shell, "para sandbox run -- docs/n");
      CHECK(files == (std::string(shell) == "zsh" ? "<files>\n" : "docs/notes.txt\n"));
      const std::string dirs = c.complete(shell, "para start x --setup-script docs/g");
      CHECK(dirs.find(std::string(shell) == "zsh" ? "<files>" : "docs/guide") != std::string::npos);
      // Nothing to offer is an empty answer, not an error.
      CHECK(c.complete(shell, "para logs zzz") == "");
    }
  }

  TEST_CASE("the completion command refuses other shells; __complete works outside a repository") {
    ParaRepo r;
    Completed tcsh = r.para({"completion", "tcsh"});
    CHECK(tcsh.exit_code == 2);
    CHECK(tcsh.err.find("bash, zsh and fish") != std::string::npos);
    CHECK(r.para({"completion"}).exit_code == 2);
    Completed outside = r.para({"__complete", "--", "diff", ""}, r.scratch());
    CHECK(outside.exit_code == 0);
    CHECK(outside.out == "words\n");
    CHECK(outside.err.empty());
    // The script calls this very binary by its absolute path.
    CHECK(r.para({"completion", "bash"}).out.find("'" + built_binary("para") + "' __complete") !=
          std::string::npos);
  }
}

}  // namespace para::test
