#include "sandbox/bwrap.h"

#include <doctest/doctest.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "sandbox/seccomp.h"
#include "tests/unit/sandbox/fake_fs.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;

sb::Policy reference_policy(const std::string& profile) {
  static const FakeFs fs = reference_host();
  Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, profile));
  REQUIRE(p);
  return *p;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Index of the op "--FLAG SRC DEST" whose DEST is dest.
long position_of(const std::vector<std::string>& a, const std::string& flag,
                 const std::string& dest) {
  for (size_t i = 0; i + 2 < a.size(); ++i) {
    if (a[i] == flag && a[i + 2] == dest) return static_cast<long>(i);
  }
  return -1;
}

}  // namespace

TEST_SUITE("sandbox/bwrap") {
  TEST_CASE("the argv starts with the lifetime flags and ends with the command untouched") {
    const sb::Policy p = reference_policy("standard");
    const std::vector<std::string> cmd = {"sh", "-c", "echo '--bind / /'", "--", "--unshare-all"};
    const std::vector<std::string> a = sb::bwrap_argv(p, cmd);
    REQUIRE(a.size() > 8);
    CHECK(a[0] == "--die-with-parent");
    CHECK(a[1] == "--new-session");
    CHECK(a[2] == "--unshare-all");
    for (const char* f : {"--unshare-user", "--disable-userns", "--cap-drop"})
      CHECK(contains(a, f));
    const auto sep = std::find(a.begin(), a.end(), "--");
    REQUIRE(sep != a.end());
    CHECK(std::vector<std::string>(sep + 1, a.end()) == cmd);
  }

  TEST_CASE(
      "--share-net only for the standard profile; a seccomp filter in every mode, refusing Unix "
      "sockets only without the relay") {
    const std::vector<std::string> open = sb::bwrap_argv(reference_policy("standard"), {"true"});
    const std::vector<std::string> proxied =
        sb::bwrap_argv(reference_policy("standard-proxied"), {"true"});
    CHECK(contains(open, "--share-net"));
    CHECK_FALSE(contains(proxied, "--share-net"));
    CHECK(contains(open, "--seccomp"));
    CHECK(contains(proxied, "--seccomp"));
    CHECK(sb::bwrap_plan(reference_policy("standard"), {"true"}).refuse_unix_sockets);
    CHECK_FALSE(sb::bwrap_plan(reference_policy("standard-proxied"), {"true"}).refuse_unix_sockets);
  }

  TEST_CASE("standard-proxied wraps the command in the relay and binds the proxy socket") {
    const sb::BwrapPlan plan = sb::bwrap_plan(reference_policy("standard-proxied"), {"curl", "x"});
    const std::vector<std::string> want = {sb::kRelayInside,
                                           "--listen",
                                           "127.0.0.1:8877",
                                           "--connect",
                                           "unix:/run/para/proxy.sock",
                                           "--",
                                           "curl",
                                           "x"};
    CHECK(plan.command == want);
    const std::vector<std::string> a = sb::render_bwrap(plan);
    CHECK(position_of(a, "--bind", sb::kProxySocketInside) >= 0);
    CHECK(position_of(a, "--ro-bind", sb::kRelayInside) >= 0);
  }

  TEST_CASE(
      "mounts: the most specific rule comes last, and ancestors of protected paths are pinned") {
    const std::vector<std::string> a = sb::bwrap_argv(reference_policy("standard"), {"true"});
    const std::string w = "/work/repo/.para/worktrees/agent1";
    CHECK(position_of(a, "--bind", w) < position_of(a, "--ro-bind", w + "/.envrc"));
    CHECK(position_of(a, "--bind", w) < position_of(a, "--bind", w + "/sub"));  // pin
    CHECK(position_of(a, "--bind", w + "/sub") <
          position_of(a, "--ro-bind", w + "/sub/.git/hooks"));
    CHECK(position_of(a, "--ro-bind", "/") < position_of(a, "--bind", w));
    const long netrc = position_of(a, "--ro-bind", "/home/dev/.netrc");
    REQUIRE(netrc >= 0);
    CHECK(a[static_cast<size_t>(netrc) + 1] == "/dev/null");
    const auto tmpfs_ssh = std::find(a.begin(), a.end(), "/home/dev/.ssh");
    REQUIRE(tmpfs_ssh != a.end());
    CHECK(*(tmpfs_ssh - 1) == "--tmpfs");
    CHECK(*(tmpfs_ssh + 1) == "--remount-ro");
    // The private ref directory covers the session branches, after G's mounts.
    CHECK(position_of(a, "--bind", "/work/repo/.git/refs/heads/para") >
          position_of(a, "--bind", "/work/repo/.git/objects"));
  }

  TEST_CASE("a protected path inside a protected directory pins nothing writable there") {
    // A checkout's own .git, protected whole, with .git/objects/info also
    // protected: pinning objects/ (a read-write bind) would undo the .git one.
    sb::Policy p;
    p.workdir = "/w";
    p.writable = {{"/w", sb::PathKind::directory, "the worktree"}};
    p.protect = {{"/w/.git", sb::PathKind::directory, "git directory"},
                 {"/w/.git/objects/info", sb::PathKind::directory, "alternates"},
                 {"/w/sub/.git/hooks", sb::PathKind::directory, "nested hooks"}};
    const std::vector<std::string> a = sb::bwrap_argv(p, {"true"});
    CHECK(position_of(a, "--ro-bind", "/w/.git") > position_of(a, "--bind", "/w"));
    CHECK(position_of(a, "--ro-bind", "/w/.git/objects/info") > 0);
    CHECK(position_of(a, "--bind", "/w/.git/objects") == -1);
    CHECK(position_of(a, "--bind", "/w/.git") == -1);
    // Outside protected directories, ancestors are still pinned.
    CHECK(position_of(a, "--bind", "/w/sub") > position_of(a, "--bind", "/w"));
    CHECK(position_of(a, "--bind", "/w/sub/.git") > 0);
  }

  TEST_CASE("the seccomp filter, loaded for real, refuses keyrings, io_uring and Unix sockets") {
    for (const bool refuse_unix : {true, false}) {
      CAPTURE(refuse_unix);
      const std::string f = sb::sandbox_filter(refuse_unix);
      REQUIRE(f.size() % sizeof(sock_filter) == 0);
      // Load it in a child (seccomp cannot be undone) and report one bit per call allowed.
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        sock_fprog prog{static_cast<unsigned short>(f.size() / sizeof(sock_filter)),
                        const_cast<sock_filter*>(reinterpret_cast<const sock_filter*>(f.data()))};
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
          ::_exit(255);
        }
        int bits = 0;
        const auto refused = [](long rc) { return rc < 0 && errno == EPERM; };
        if (!refused(::syscall(__NR_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)))
          bits |= 1;
        if (!refused(
                ::syscall(__NR_add_key, "user", "para-test", "x", 1, KEY_SPEC_SESSION_KEYRING)))
          bits |= 2;
        if (!refused(::syscall(__NR_io_uring_setup, 0, nullptr))) bits |= 4;
        if (!refused(::socket(AF_UNIX, SOCK_STREAM, 0))) bits |= 8;
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) bits |= 16;
        if (::socket(AF_INET, SOCK_STREAM, 0) >= 0) bits |= 32;
        ::_exit(bits);
      }
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFEXITED(status));
      const int bits = WEXITSTATUS(status);
      REQUIRE(bits != 255);
      CHECK((bits & (1 | 2 | 4)) == 0);  // keyrings, io_uring: always refused
      CHECK(((bits & 8) != 0) == !refuse_unix);
      CHECK((bits & 16) != 0);  // socketpair and INET sockets: legitimate work
      CHECK((bits & 32) != 0);
    }
  }
}

}  // namespace para::test
