// para-relay inside a real network namespace (bwrap --unshare-net), forwarding
// to a real proxy listener on a Unix socket; curl inside the namespace can
// reach only the relay. ~5 s.

#include <doctest/doctest.h>
#include <elf.h>
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "core/process.h"
#include "tests/integration/proxy/fixtures.h"

using namespace para;
using namespace para::test;
using namespace std::chrono_literals;

namespace {

struct RelayWorld {
  Certs certs;
  HttpsServer https{certs};
  TempDir dir{"para-relay-test"};
  InProcessProxy proxy;
  std::string socket = dir / "run/proxy.sock";
  std::string port = std::to_string(https.port());
  RelayWorld() {
    auto policy = proxy::build_policy({.allowed = {"allowed.test:" + port},
                                       .include_essential = false,
                                       .pins = {"allowed.test:127.0.0.1", "evil.test:127.0.0.1"}});
    REQUIRE(policy);
    proxy.listen({.session = "relay",
                  .endpoint = "unix:" + socket,
                  .policy = *policy,
                  .log_path = dir / "relay.jsonl"});
    proxy.start();
  }
  // bwrap with a fresh network namespace (only loopback), relay as its command.
  Completed in_namespace(const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"bwrap",
                                     "--dev-bind",
                                     "/",
                                     "/",
                                     "--unshare-net",
                                     "--die-with-parent",
                                     "--",
                                     built_binary("para-relay"),
                                     "--listen",
                                     "127.0.0.1:8877",
                                     "--connect",
                                     "unix:" + socket,
                                     "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return run_cmd(argv, {"PATH=/usr/bin:/bin"}, "/", "", 60s);
  }
};

}  // namespace

TEST_SUITE("proxy/relay") {
  TEST_CASE("curl in a network namespace reaches an allowed host only through the relay" *
            doctest::skip(!bwrap_works())) {
    RelayWorld w;
    const std::string curl_bin = curl_path();
    const Completed ok =
        w.in_namespace({curl_bin, "-sS", "-x", "http://127.0.0.1:8877", "--cacert", w.certs.cert(),
                        "https://allowed.test:" + w.port + "/hello"});
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    CHECK(ok.out == "hello");
    // The proxy still decides per final destination (row 11: relayed CONNECT).
    const Completed denied =
        w.in_namespace({curl_bin, "-sS", "-x", "http://127.0.0.1:8877", "--cacert", w.certs.cert(),
                        "https://evil.test:" + w.port + "/hello"});
    CHECK(denied.exit_code == 56);  // curl: CONNECT tunnel failed
    CHECK_FALSE(wait_for_log(w.dir / "relay.jsonl", {"evil.test", "\"status\":403"}).empty());
    // Row 10: a tool that ignores the proxy has no route out of the namespace.
    const Completed direct = w.in_namespace({curl_bin, "-sS", "--noproxy", "*", "--connect-timeout",
                                             "3", "http://192.0.2.1:" + w.port + "/"});
    CHECK(direct.exit_code != 0);
    const Completed direct_name =
        w.in_namespace({curl_bin, "-sS", "--noproxy", "*", "--cacert", w.certs.cert(),
                        "https://allowed.test:" + w.port + "/hello"});
    CHECK(direct_name.exit_code == 6);  // could not resolve: no DNS inside
  }

  TEST_CASE("the relay carries large bodies and half-closes, and returns the command's status" *
            doctest::skip(!bwrap_works())) {
    RelayWorld w;
    TempDir out;
    const Completed big = w.in_namespace({curl_path(), "-sS", "-x", "http://127.0.0.1:8877",
                                          "--cacert", w.certs.cert(), "-o", out / "big.bin",
                                          "https://allowed.test:" + w.port + "/bytes/20000000"});
    CHECK_MESSAGE(big.exit_code == 0, big.err);
    CHECK(file_sha256(out / "big.bin") == pattern_sha256(20'000'000));
    CHECK(w.in_namespace({"sh", "-c", "exit 7"}).exit_code == 7);
    CHECK(w.in_namespace({"sh", "-c", "kill -TERM $$"}).exit_code == 128 + SIGTERM);
  }

  TEST_CASE("the relay forwards SIGTERM to its command and exits with its status") {
    TempDir dir;
    std::vector<std::string> argv = {
        built_binary("para-relay"),    "--listen", "127.0.0.1:0", "--connect",
        "unix:" + (dir / "none.sock"), "--",       "sleep",       "30"};
    Result<pid_t> pid = spawn({.argv = argv});
    REQUIRE(pid);
    std::this_thread::sleep_for(200ms);
    ::kill(*pid, SIGTERM);
    Result<ExitStatus> st = wait_for(*pid, 10s);
    REQUIRE(st);
    CHECK(st->exit_code == 128 + SIGTERM);
  }

  TEST_CASE("--wait-for holds the command until its file is renamed into place, then runs it") {
    TempDir dir;
    std::filesystem::create_directories(dir / "gate");
    const std::string ran = dir / "ran";
    Result<pid_t> pid = spawn({.argv = {built_binary("para-relay"), "--wait-for", dir / "gate/open",
                                        "--", "sh", "-c", "echo ran > '" + ran + "'; exit 3"}});
    REQUIRE(pid);
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(std::filesystem::exists(ran));
    write_text(dir / "gate/other", "");  // an unrelated file does not open the gate
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(std::filesystem::exists(ran));
    // As the supervisor opens it: a temporary file renamed into place.
    write_text(dir / "gate/open.tmp", "");
    std::filesystem::rename(dir / "gate/open.tmp", dir / "gate/open");
    Result<ExitStatus> st = wait_for(*pid, 10s);
    REQUIRE(st);
    CHECK(st->exit_code == 3);
    CHECK(read_text(ran) == "ran\n");
  }

  TEST_CASE("the relay is a static executable with no program interpreter") {
    const std::string bytes = read_text(built_binary("para-relay"));
    REQUIRE(bytes.size() > sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    std::memcpy(&eh, bytes.data(), sizeof eh);
    REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
    bool interp = false, dynamic = false;
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, bytes.data() + eh.e_phoff + static_cast<size_t>(i) * eh.e_phentsize,
                  sizeof ph);
      interp = interp || ph.p_type == PT_INTERP;
      dynamic = dynamic || ph.p_type == PT_DYNAMIC;
    }
    CHECK_FALSE(interp);
    CHECK_FALSE(dynamic);
  }

  TEST_CASE("the relay refuses bad arguments with usage, exit 2") {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{},
                                               {"--listen", "127.0.0.1:1"},
                                               {"--listen", "localhost:1", "--connect", "unix:/x"},
                                               {"--listen", "127.0.0.1:1", "--connect", "tcp:1"},
                                               {"--bogus"}}) {
      std::vector<std::string> argv = {built_binary("para-relay")};
      argv.insert(argv.end(), args.begin(), args.end());
      const Completed r = run_cmd(argv, {}, "/", "", 5s);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("usage: para-relay") != std::string::npos);
    }
  }
}
