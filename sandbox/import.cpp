// What a sandbox leaves in git, brought back to the repository (declared in
// launch.h): the objects it wrote, each named by its content and checked
// for form, and the worktree's index, whose entries must name objects the
// repository has. Everything here treats the agent's files as untrusted:
// nothing it wrote can make the import fail for the work that is sound.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>

#include "core/fd.h"
#include "core/fs.h"
#include "sandbox/launch.h"
#include "sandbox/session_git.h"

namespace para::sandbox {
namespace {

namespace fs = std::filesystem;

// After this many objects git refuses, a set git refuses is left out whole
// instead of being split further: the work stays bounded, and finish still
// commits the worktree's files.
constexpr size_t kMaxRefused = 16;

// Whether the private store holds an object (a file below a fan-out or
// pack directory; info/ is the mount point of the alternates): a run that
// wrote none costs no git process.
bool holds_objects(const std::string& store) {
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(store, ec)) {
    if (dir.path().filename() == "info") continue;
    if (!dir.is_directory(ec)) return true;
    if (fs::directory_iterator(dir.path(), ec) != fs::directory_iterator()) return true;
  }
  return false;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find(separator, at), text.size());
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string joined(std::span<const std::string> items, char separator) {
  std::string out;
  for (const std::string& item : items) out += item + separator;
  return out;
}

// Removes the loose objects `names` from the private store once the
// import is done with them (imported or refused): the store then holds only
// what the next import must look at. A sandbox still running finds the
// imported ones in its alternate.
void forget_loose_objects(const std::string& store, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name.size() > 2) ::unlink((store + "/" + name.substr(0, 2) + "/" + name.substr(2)).c_str());
  }
}

// One attempt: the objects `names` (one per line) are packed from the
// private store (pack-objects, the names from a file) and streamed into
// index-pack, which names every object by hashing its content: a file that
// claims a name it does not hash to enters the repository under its true
// name, and the object it pretended to be stays missing. --fsck-objects
// also checks each object's form. Links are not checked here (a set split
// in halves has them in the other half): sync_session_ref moves the branch
// only to a commit whose history is complete. No delta search and fast
// compression (what loose objects get): git gc repacks later.
// Errors: tool_failed when git refused the set (a malformed object, a file
// that is no object); io or timeout when the attempt could not run.
Result<void> index_objects(const SessionGit& g, const std::string& names) {
  const std::string list = g.objects_info.substr(0, g.objects_info.rfind('/')) + "/import-" +
                           std::to_string(::getpid());  // a shell may import at the same time
  if (auto r = write_file_atomic(list, names, 0600, Sync::replace_only); !r) return r;
  Fd names_fd(::open(list.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::error_code ec;
  fs::remove(list, ec);
  int fds[2];
  if (!names_fd.valid() || ::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("cannot set up the object import: ") + std::strerror(errno),
                errno);
  }
  Fd pack_out(fds[0]), pack_in(fds[1]);
  const std::chrono::seconds limit(600);
  Command pack = git_command(g, {"pack-objects", "-q", "--stdout", "--window=0", "--compression=1"},
                             GitRun{.object_dir = g.objects});
  Result<pid_t> packer = spawn(SpawnOptions{
      .argv = pack.argv, .env = pack.env, .stdin_fd = names_fd.get(), .stdout_fd = pack_in.get()});
  if (!packer) return fail(packer.error());
  pack_in.reset();  // index-pack sees the end of the pack when pack-objects exits
  Result<Completed> indexed =
      run(git_command(g, {"index-pack", "--stdin", "--fsck-objects"},
                      GitRun{.input_fd = pack_out.get(), .timeout = limit}));
  pack_out.reset();  // pack-objects gets EPIPE if index-pack stopped early
  Result<ExitStatus> packed = wait_for(*packer, limit);
  if (!packed) {
    ::kill(*packer, SIGKILL);
    (void)wait_for(*packer, std::nullopt);
    return fail(packed.error());
  }
  if (!indexed) return fail(indexed.error());
  if (packed->exit_code != 0) {
    return fail(Errc::tool_failed, "git pack-objects could not read it (exit code " +
                                       std::to_string(packed->exit_code) + ")");
  }
  if (!indexed->ok()) {
    return fail(Errc::tool_failed,
                "git index-pack: " + trimmed(indexed->err.substr(0, indexed->err.find('\n'))));
  }
  return {};
}

struct Refused {
  std::vector<std::string> names;
  std::string first_reason;
};

// Imports `names`. When git refuses the set, each half goes on its own,
// down to single objects, which are left out (in `refused`): one odd
// object costs about two attempts per halving, and the rest arrives. Past
// kMaxRefused, a refused set is left out whole. Errors: io, timeout (the
// attempt could not run; nothing is left out for them).
Result<void> import_or_split(const SessionGit& g, std::span<const std::string> names,
                             Refused& refused) {
  Result<void> r = index_objects(g, joined(names, '\n'));
  if (r || r.error().code != Errc::tool_failed) return r;
  if (names.size() > 1 && refused.names.size() < kMaxRefused) {
    const size_t half = names.size() / 2;
    if (auto first = import_or_split(g, names.first(half), refused); !first) return first;
    return import_or_split(g, names.subspan(half), refused);
  }
  refused.names.insert(refused.names.end(), names.begin(), names.end());
  if (refused.first_reason.empty()) refused.first_reason = r.error().message;
  return {};
}

}  // namespace

Result<std::optional<std::string>> import_sandbox_objects(const Policy& p) {
  if (!p.git || p.git->objects.empty() || !holds_objects(p.git->objects)) return std::nullopt;
  const SessionGit& g = *p.git;
  const GitRun private_store{.object_dir = g.objects};
  Result<std::string> listed =
      git_ok(g, {"cat-file", "--batch-all-objects", "--batch-check=%(objectname)"}, private_store,
             "list the sandbox's objects");
  if (!listed) return fail(listed.error());
  const std::vector<std::string> names = split(*listed, '\n');
  if (names.empty()) return std::nullopt;
  // Only names the repository lacks: a name it has keeps its content.
  Result<std::string> known = git_ok(g, {"cat-file", "--batch-check=%(objectname)"},
                                     GitRun{.input = *listed}, "check the sandbox's objects");
  if (!known) return fail(known.error());
  std::vector<std::string> missing;
  for (const std::string& line : split(*known, '\n')) {
    if (line.ends_with(" missing")) missing.push_back(line.substr(0, line.find(' ')));
  }
  Refused refused;
  if (!missing.empty()) {
    if (auto r = import_or_split(g, missing, refused); !r) return fail(r.error());
  }
  forget_loose_objects(g.objects, names);
  if (refused.names.empty()) return std::nullopt;
  const size_t n = refused.names.size();
  return std::to_string(n) + " of the objects the sandbox wrote " + (n == 1 ? "was" : "were") +
         " not imported (git refused " + refused.names.front() + ": " + refused.first_reason +
         (n > kMaxRefused ? "; past " + std::to_string(kMaxRefused) +
                                " refusals, a refused batch was left out whole"
                          : "") +
         "); commits that need " + (n == 1 ? "it" : "them") + " stay out of the branch";
}

Result<std::optional<std::string>> unstage_missing_objects(const Policy& p) {
  if (!p.git) return std::nullopt;
  auto worktree_git = [&](const std::vector<std::string>& args, std::optional<std::string> input) {
    return run(Command{
        .argv = host_git_argv(p, args), .env = git_environment(), .stdin_data = std::move(input)});
  };
  // Entries that differ from HEAD (the session branch, which the
  // repository has whole) are the only ones that can name a missing object.
  Result<Completed> diff =
      worktree_git({"diff-index", "--cached", "-z", "--no-renames", "HEAD", "--"}, std::nullopt);
  if (!diff) return fail(diff.error());
  if (!diff->ok()) {
    // An index git cannot read: start again from the branch's tree; every
    // change in the worktree then shows as not staged.
    Result<Completed> reset = worktree_git({"read-tree", "HEAD"}, std::nullopt);
    if (!reset) return fail(reset.error());
    if (!reset->ok()) {
      return fail(Errc::tool_failed, "the worktree's index cannot be read or reset (git: " +
                                         trimmed(reset->err.substr(0, reset->err.find('\n'))) +
                                         ")");
    }
    return std::string("the worktree's index could not be read (git: ") +
           trimmed(diff->err.substr(0, diff->err.find('\n'))) +
           "); it was reset to the branch, so every change shows as not staged";
  }
  // -z records: ":MODE MODE OLD NEW STATUS" NUL path NUL.
  const std::vector<std::string> fields = split(diff->out, '\0');
  std::vector<std::string> paths;
  std::string names;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::vector<std::string> meta = split(fields[i], ' ');
    if (meta.size() != 5 || meta[4] == "D" || meta[1] == "160000") continue;  // gitlinks: commits
    paths.push_back(fields[i + 1]);                                           // elsewhere
    names += meta[3] + "\n";
  }
  if (paths.empty()) return std::nullopt;
  Result<std::string> known = git_ok(*p.git, {"cat-file", "--batch-check=%(objectname)"},
                                     GitRun{.input = names}, "check the index's objects");
  if (!known) return fail(known.error());
  const std::vector<std::string> answers = split(*known, '\n');
  std::vector<std::string> unstage;
  for (size_t i = 0; i < answers.size() && i < paths.size(); ++i) {
    if (answers[i].ends_with(" missing")) unstage.push_back(paths[i]);
  }
  if (unstage.empty()) return std::nullopt;
  // git reset -- PATH...: those entries go back to the branch's version (or
  // out of the index); the files in the worktree stay as they are.
  Result<Completed> reset = worktree_git(
      {"--literal-pathspecs", "reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul"},
      joined(unstage, '\0'));
  if (!reset) return fail(reset.error());
  if (!reset->ok()) {
    return fail(Errc::tool_failed,
                "could not unstage the index entries that name objects the "
                "repository lacks (git reset: " +
                    trimmed(reset->err.substr(0, reset->err.find('\n'))) + ")");
  }
  // The count only: paths are the agent's bytes.
  return "the worktree's index named objects the repository lacks for " +
         std::to_string(unstage.size()) + " file(s); they were unstaged (the files are unchanged)";
}

}  // namespace para::sandbox
