#include "docker/containers.h"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "core/fs.h"
#include "core/log.h"
#include "docker/images.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"
#include "tests/support/support.h"

namespace para::docker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::ScopedContainer;

struct Output {
  std::string out, err;
  OutputFn fn() {
    return [this](StreamKind k, std::string_view b) {
      (k == StreamKind::stderr_stream ? err : out).append(b);
      return true;
    };
  }
};

// Captures this process's stderr (where para's log lines go) while alive.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path) {
    saved_ = ::dup(2);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() {
    ::dup2(saved_, 2);
    ::close(saved_);
  }

 private:
  int saved_;
};

}  // namespace

TEST_SUITE("docker/containers") {
  TEST_CASE(
      "a container runs, writes to its bind-mounted workspace, and its output and exit code come "
      "back") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir work;
    ContainerSpec spec = test::test_spec(
        {"sh", "-c",
         "echo hello > /workspace/out.txt; echo to-stdout; echo to-stderr >&2; exit 3"});
    spec.mounts = {{Mount::Type::bind, work.path(), "/workspace", false}};
    spec.working_dir = "/workspace";
    spec.labels[kSessionLabel] = "lifecycle";
    harden(spec);
    Result<std::string> id = create_container(client, spec);
    REQUIRE(id);
    ScopedContainer guard(client, *id);

    Result<ContainerState> created = inspect_container(client, *id);
    REQUIRE(created);
    CHECK(created->status == "created");
    CHECK(created->name == spec.name);
    CHECK(created->labels[kSessionLabel] == "lifecycle");

    REQUIRE(start_container(client, *id));
    // The log stream starts from the container's start, however late we ask.
    Output output;
    std::thread logs([&] { REQUIRE(follow_logs(client, *id, output.fn())); });
    Result<ContainerExit> exit = wait_container(client, *id, 30s);
    logs.join();
    REQUIRE(exit);
    CHECK(exit->exit_code == 3);
    CHECK_FALSE(exit->oom_killed);
    CHECK(describe_exit(*exit) == "exited with code 3");
    CHECK(output.out == "to-stdout\n");
    CHECK(output.err == "to-stderr\n");
    CHECK(para::test::read_text(work / "out.txt") == "hello\n");

    Result<ContainerState> done = inspect_container(client, *id);
    REQUIRE(done);
    CHECK(done->status == "exited");
    CHECK(done->exit_code == 3);

    REQUIRE(remove_container(client, *id));
    Result<ContainerState> gone = inspect_container(client, *id);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == Errc::not_found);
    Result<void> again = remove_container(client, *id);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::not_found);
  }

  TEST_CASE("logs go to a file descriptor and stop stops a running container") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir dir;
    Result<std::string> id =
        create_container(client, test::test_spec({"sh", "-c", "echo started; exec sleep 300"}));
    REQUIRE(id);
    ScopedContainer guard(client, *id);
    REQUIRE(start_container(client, *id));
    REQUIRE(start_container(client, *id));  // starting a running container is fine
    const int fd = ::open((dir / "session.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    std::thread logs([&] { CHECK(follow_logs(client, *id, fd_output(fd))); });
    CHECK(para::test::wait_until(
        [&] { return para::test::read_text(dir / "session.log") == "started\n"; }));
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(stop_container(client, *id, 1s));
    logs.join();  // the stream ends with the container
    ::close(fd);
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    Result<ContainerExit> exit = wait_container(client, *id, 10s);
    REQUIRE(exit);
    CHECK(exit->exit_code == 137);  // PID 1 without a handler ignores SIGTERM: SIGKILL after 1 s
    REQUIRE(stop_container(client, *id, 1s));  // stopping a stopped container is fine
  }

  TEST_CASE("exec runs an argv with env and workdir, streams output and returns the exit code") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    Result<std::string> id = create_container(client, test::test_spec({"sleep", "300"}));
    REQUIRE(id);
    ScopedContainer guard(client, *id);
    REQUIRE(start_container(client, *id));
    Output output;
    ExecSpec e;
    e.cmd = {"sh", "-c", "pwd; echo \"$GREETING\"; echo oops >&2; exit 7"};
    e.env = {{"GREETING", "hi there"}};
    e.working_dir = "/tmp";
    e.user = "65534:65534";
    Result<int> code = exec(client, *id, e, output.fn());
    REQUIRE(code);
    CHECK(*code == 7);
    CHECK(output.out == "/tmp\nhi there\n");
    CHECK(output.err == "oops\n");

    Output who;
    Result<int> id_code = exec(client, *id, {.cmd = {"id", "-u"}, .user = "65534"}, who.fn());
    REQUIRE(id_code);
    CHECK(*id_code == 0);
    CHECK(who.out == "65534\n");

    // The runtime cannot start it: exit code 126 and the runtime's reason.
    Output runtime;
    Result<int> missing = exec(client, *id, {.cmd = {"/no/such/program"}}, runtime.fn());
    REQUIRE(missing);
    CHECK(*missing == 126);
    CHECK((runtime.out + runtime.err).find("/no/such/program") != std::string::npos);

    // Arguments JSON cannot carry are refused before anything is sent.
    Result<int> latin1 = exec(client, *id, {.cmd = {"echo", "caf\xe9"}}, Output().fn());
    REQUIRE_FALSE(latin1);
    CHECK(latin1.error().code == Errc::invalid_argument);
    CHECK(latin1.error().message.find("not valid UTF-8") != std::string::npos);

    REQUIRE(kill_container(client, *id));
    REQUIRE(wait_container(client, *id, 10s));
    Result<int> stopped = exec(client, *id, {.cmd = {"true"}}, Output().fn());
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error().code == Errc::conflict);
    CHECK(stopped.error().message.find("is not running") != std::string::npos);
  }

  TEST_CASE(
      "a forwarded key reaches the container's environment and no log, description or error") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir dir;
    const std::string secret = "sk-para-test-" + random_hex(12);
    const std::string log_path = dir / "stderr.log";
    para::log::Level previous = para::log::level();
    std::string inside;
    std::string conflict_message, mount_message;
    {
      StderrCapture capture(log_path);
      para::log::set_level(para::log::Level::debug);
      ContainerSpec spec = test::test_spec({"sleep", "300"});
      spec.secret_env = {{"ANTHROPIC_API_KEY", secret}};
      Result<std::string> id = create_container(client, spec);
      REQUIRE(id);
      ScopedContainer guard(client, *id);
      REQUIRE(start_container(client, *id));
      Output output;
      REQUIRE(exec(client, *id, {.cmd = {"env"}}, output.fn()));
      inside = output.out;
      // The same name again: a daemon error about this very body.
      Result<std::string> twice = create_container(client, spec);
      REQUIRE_FALSE(twice);
      CHECK(twice.error().code == Errc::conflict);
      conflict_message = twice.error().message;
      // A daemon error that echoes part of the body (a bind source path).
      ContainerSpec echo = test::test_spec({"true"});
      echo.secret_env = {{"TOKEN", secret}};
      echo.mounts = {{Mount::Type::bind, "/nonexistent/" + secret, "/x", false}};
      Result<std::string> refused = create_container(client, echo);
      REQUIRE_FALSE(refused);
      mount_message = refused.error().message;
      Result<ContainerState> state = inspect_container(client, *id);
      REQUIRE(state);
      CHECK(state->host_config.dump().find(secret) == std::string::npos);
      CHECK(describe(spec).dump().find(secret) == std::string::npos);
      para::log::set_level(previous);
    }
    CHECK(inside.find("ANTHROPIC_API_KEY=" + secret + "\n") != std::string::npos);
    CHECK(mount_message.find("bind source path does not exist") != std::string::npos);
    CHECK(mount_message.find("[redacted]") != std::string::npos);
    for (const std::string& text :
         {conflict_message, mount_message, para::test::read_text(log_path)}) {
      CHECK(text.find(secret) == std::string::npos);
    }
    CHECK(para::test::read_text(log_path).find("para debug [docker] created") != std::string::npos);
  }

  TEST_CASE(
      "cleanup matches para's labels, never names: para-postgres survives, labelled orphans do "
      "not") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    const std::string repo = "/tmp/para-test-repo-" + random_hex(4);
    const std::string other_repo = repo + "-other";
    std::vector<std::unique_ptr<ScopedContainer>> guards;
    const auto make = [&](const std::string& name, std::map<std::string, std::string> labels) {
      ContainerSpec spec = test::test_spec({"sleep", "300"});
      spec.name = name;
      for (auto& [k, v] : labels) spec.labels[k] = v;
      Result<std::string> id = create_container(client, spec);
      REQUIRE(id);
      guards.push_back(std::make_unique<ScopedContainer>(client, *id));
      return *id;
    };
    // A user's container that merely looks like ours. Never removed by this
    // test if it existed before (then it is a real foreign container).
    std::string postgres;
    Result<ContainerState> existing = inspect_container(client, "para-postgres");
    if (existing) {
      postgres = existing->id;
    } else {
      postgres = make("para-postgres", {});
    }
    const std::string live =
        make("para-live-" + random_hex(3), {{kSessionLabel, "live"}, {kRepoLabel, repo}});
    const std::string orphan =
        make("para-orphan-" + random_hex(3), {{kSessionLabel, "orphan"}, {kRepoLabel, repo}});
    const std::string renamed =
        make("renamed-" + random_hex(3), {{kSessionLabel, "renamed"}, {kRepoLabel, repo}});
    const std::string elsewhere =
        make("para-elsewhere-" + random_hex(3), {{kSessionLabel, "x"}, {kRepoLabel, other_repo}});
    REQUIRE(start_container(client, orphan));  // running orphans are removed too

    Result<std::vector<ContainerSummary>> bad_repo = list_para_containers(client, "/tmp/caf\xe9");
    REQUIRE_FALSE(bad_repo);
    CHECK(bad_repo.error().code == Errc::invalid_argument);

    Result<std::vector<ContainerSummary>> mine = list_para_containers(client, repo);
    REQUIRE(mine);
    CHECK(mine->size() == 3);

    Result<std::vector<ContainerSummary>> removed = remove_orphans(
        client, repo,
        [](const ContainerSummary& c) { return c.labels.at(kSessionLabel) == "live"; });
    REQUIRE(removed);
    std::vector<std::string> removed_ids;
    for (const ContainerSummary& c : *removed) removed_ids.push_back(c.id);
    std::sort(removed_ids.begin(), removed_ids.end());
    std::vector<std::string> expected = {orphan, renamed};
    std::sort(expected.begin(), expected.end());
    CHECK(removed_ids == expected);
    CHECK(inspect_container(client, postgres));
    CHECK(inspect_container(client, live));
    CHECK(inspect_container(client, elsewhere));
    CHECK_FALSE(inspect_container(client, orphan));
    CHECK_FALSE(inspect_container(client, renamed));
    if (existing) guards.erase(guards.begin());  // never remove a pre-existing para-postgres
  }

  TEST_CASE("a directory is copied into a created container and the result copied out, safely") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir src, out, evil;
    fs::create_directories(src / "src/deep");
    para::test::write_text(src / "README.md", "# readme\n");
    para::test::write_text(src / "src/run.sh", "#!/bin/sh\necho run\n", 0755);
    para::test::write_text(src / ("src/deep/" + std::string(150, 'n') + ".txt"), "long\n");
    fs::create_symlink("src/run.sh", src / "run-link");
    ContainerSpec spec = test::test_spec(
        {"sh", "-c",
         "cd /workspace && test -x src/run.sh && test -L run-link && rm README.md && "
         "echo made > added.txt && mkdir -p new/dir && echo x > new/dir/f"});
    Result<std::string> id = create_container(client, spec);
    REQUIRE(id);
    ScopedContainer guard(client, *id);
    TarOptions in;
    in.prefix = "workspace";
    REQUIRE(copy_into(client, *id, src.path(), "/", in));
    REQUIRE(start_container(client, *id));
    Result<ContainerExit> exit = wait_container(client, *id, 30s);
    REQUIRE(exit);
    CHECK(exit->exit_code == 0);
    REQUIRE(copy_out(client, *id, "/workspace", out.path()));
    CHECK_FALSE(fs::exists(out / "README.md"));
    CHECK(para::test::read_text(out / "added.txt") == "made\n");
    CHECK(para::test::read_text(out / "new/dir/f") == "x\n");
    CHECK(para::test::read_text(out / ("src/deep/" + std::string(150, 'n') + ".txt")) == "long\n");
    CHECK(fs::read_symlink(out / "run-link") == "src/run.sh");
    CHECK((fs::status(out / "src/run.sh").permissions() & fs::perms::owner_exec) !=
          fs::perms::none);

    // A container that plants a link to the host's /etc gets a clear refusal.
    Result<std::string> bad =
        create_container(client, test::test_spec({"sh", "-c", "ln -s /etc /workspace/etc-link"}));
    REQUIRE(bad);
    ScopedContainer bad_guard(client, *bad);
    REQUIRE(start_container(client, *bad));
    REQUIRE(wait_container(client, *bad, 30s));
    Result<void> refused = copy_out(client, *bad, "/workspace", evil.path());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(refused.error().message.find("etc-link") != std::string::npos);
    CHECK_FALSE(fs::exists(evil / "etc-link"));

    Result<void> missing = copy_out(client, *id, "/no/such/dir", out.path());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
  }

  TEST_CASE("operations on a missing container say so") {
    const Client& client = test::test_client();
    for (const Result<void>& r : {start_container(client, "para-test-missing"),
                                  stop_container(client, "para-test-missing", 1s),
                                  remove_container(client, "para-test-missing")}) {
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::not_found);
      CHECK(r.error().message.find("No such container") != std::string::npos);
    }
  }
}

}  // namespace para::docker
