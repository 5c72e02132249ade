#include "core/fs.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/support.h"

namespace para {

TEST_SUITE("core/fs") {
  TEST_CASE("an atomic write replaces the content and leaves no temp file") {
    test::TempDir dir;
    const std::string path = dir / "state.json";
    REQUIRE(write_file_atomic(path, "one"));
    REQUIRE(write_file_atomic(path, "two", 0600));
    Result<std::string> text = read_file(path);
    REQUIRE(text);
    CHECK(*text == "two");
    const auto perms = std::filesystem::status(path).permissions() & std::filesystem::perms::all;
    const auto owner_rw = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
    CHECK(perms == owner_rw);
    size_t entries = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);
  }

  TEST_CASE("a replace-only write can be made durable later; a missing file is an error") {
    // Durability itself needs a power cut to observe; this checks the
    // contract around it: the content is in place, and make_durable fails
    // loudly for a file that is not there.
    test::TempDir dir;
    const std::string path = dir / "base";
    REQUIRE(write_file_atomic(path, "abc\n", 0644, Sync::replace_only));
    CHECK(read_file(path).value() == "abc\n");
    CHECK(make_durable(path));
    Result<void> missing = make_durable(dir / "nothing");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("nothing") != std::string::npos);
  }

  TEST_CASE("reading a missing file is not_found and an oversize file is refused") {
    test::TempDir dir;
    Result<std::string> missing = read_file(dir / "nope");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
    test::write_text(dir / "big", std::string(100, 'x'));
    Result<std::string> big = read_file(dir / "big", 10);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == Errc::invalid_argument);
  }

  TEST_CASE("an exclusive lock excludes another process and dies with its holder") {
    test::TempDir dir;
    const std::string lock = dir / "x.lock";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
      auto held = FileLock::acquire(lock, FileLock::Mode::exclusive);
      char c = held ? 'y' : 'n';
      (void)!::write(ready[1], &c, 1);
      ::pause();
      ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    CHECK(c == 'y');
    auto busy = FileLock::try_acquire(lock, FileLock::Mode::exclusive);
    REQUIRE(busy);
    CHECK_FALSE(busy->has_value());
    auto timed = FileLock::acquire(lock, FileLock::Mode::shared, std::chrono::milliseconds(50));
    REQUIRE_FALSE(timed);
    CHECK(timed.error().code == Errc::timeout);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    auto free_now = FileLock::acquire(lock, FileLock::Mode::exclusive, std::chrono::seconds(2));
    CHECK(free_now.has_value());
    ::close(ready[0]);
    ::close(ready[1]);
  }

  TEST_CASE("make_dirs creates every missing directory with the given mode") {
    test::TempDir dir;
    REQUIRE(make_dirs(dir / "a/b/c", 0700));
    for (const char* sub : {"a", "a/b", "a/b/c"}) {
      CAPTURE(sub);
      const auto perms =
          std::filesystem::status(dir / sub).permissions() & std::filesystem::perms::all;
      CHECK(perms == std::filesystem::perms::owner_all);
    }
    CHECK(make_dirs(dir / "a/b/c", 0700).has_value());
    test::write_text(dir / "file", "x");
    CHECK_FALSE(make_dirs(dir / "file", 0700).has_value());
  }

  TEST_CASE("random_hex gives distinct tokens of the asked length") {
    const std::string a = random_hex(16), b = random_hex(16);
    CHECK(a.size() == 32);
    CHECK(a != b);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

}  // namespace para
