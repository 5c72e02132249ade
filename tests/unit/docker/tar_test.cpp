#include "docker/tar.h"

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "tests/support/support.h"

namespace para::docker {
namespace {

namespace fs = std::filesystem;

// A hand-made ustar entry, for archives no honest writer produces.
std::string raw_entry(const std::string& name, char type, const std::string& data = "",
                      const std::string& link = "", unsigned mode = 0644) {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", mode);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(data.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  std::string out(h, 512);
  out += data;
  out.append((512 - data.size() % 512) % 512, '\0');
  return out;
}

std::string end_marker() {
  return std::string(1024, '\0');
}

Completed run_tar(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> argv = {"tar"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_cmd(argv, test::isolated_env(cwd), cwd);
}

void make_tree(const std::string& root) {
  fs::create_directories(root + "/src/deep");
  test::write_text(root + "/README.md", "# hello\n");
  test::write_text(root + "/src/main.c", "int main(void) { return 0; }\n");
  test::write_text(root + "/src/run.sh", "#!/bin/sh\necho hi\n", 0755);
  test::write_text(root + "/src/deep/empty", "");
  test::write_text(root + "/big.bin", std::string(200000, 'z'));
  const std::string long_dir = root + "/" + std::string(60, 'd') + "/" + std::string(70, 'e');
  fs::create_directories(long_dir);
  test::write_text(long_dir + "/" + std::string(120, 'f') + ".txt", "long name\n");
  fs::create_directory_symlink("src", root + "/link-to-src");
  fs::create_symlink(std::string(150, 'x'), root + "/long-link");  // dangling, long target
  fs::create_directories(root + "/.git");
  test::write_text(root + "/.git/HEAD", "ref: refs/heads/main\n");
}

// Compares two trees: names, types, modes (permission bits), contents, link targets.
void check_same_tree(const std::string& a, const std::string& b) {
  std::vector<std::string> names_a, names_b;
  for (auto& e : fs::recursive_directory_iterator(a)) names_a.push_back(fs::relative(e.path(), a));
  for (auto& e : fs::recursive_directory_iterator(b)) names_b.push_back(fs::relative(e.path(), b));
  std::sort(names_a.begin(), names_a.end());
  std::sort(names_b.begin(), names_b.end());
  REQUIRE(names_a == names_b);
  for (const std::string& n : names_a) {
    CAPTURE(n);
    const fs::path pa = fs::path(a) / n, pb = fs::path(b) / n;
    struct stat sa {
    }, sb{};
    REQUIRE(::lstat(pa.c_str(), &sa) == 0);
    REQUIRE(::lstat(pb.c_str(), &sb) == 0);
    CHECK((sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT));
    if (S_ISLNK(sa.st_mode)) {
      CHECK(fs::read_symlink(pa) == fs::read_symlink(pb));
    } else if (S_ISREG(sa.st_mode)) {
      CHECK((sa.st_mode & 0777) == (sb.st_mode & 0777));
      CHECK(test::read_text(pa) == test::read_text(pb));
      CHECK(sa.st_mtime == sb.st_mtime);
    }
  }
}

}  // namespace

TEST_SUITE("docker/tar") {
  TEST_CASE("a directory round-trips through our writer and reader, long names included") {
    test::TempDir src, dst;
    make_tree(src.path());
    Result<std::string> archive = tar_to_string(src.path());
    REQUIRE(archive);
    CHECK(archive->size() % 512 == 0);
    // Any chunking of the stream gives the same result.
    TarExtractor x(dst.path());
    for (size_t i = 0; i < archive->size(); i += 777) {
      REQUIRE(x.feed(std::string_view(*archive).substr(i, 777)));
    }
    REQUIRE(x.finish());
    check_same_tree(src.path(), dst.path());
  }

  TEST_CASE("GNU tar reads what we write") {
    test::TempDir src, dst;
    make_tree(src.path());
    Result<std::string> archive = tar_to_string(src.path());
    REQUIRE(archive);
    test::write_text(dst / "a.tar", *archive);
    fs::create_directory(dst / "out");
    Completed c = run_tar({"-xf", dst / "a.tar", "-C", dst / "out"}, dst.path());
    CAPTURE(c.err);
    REQUIRE(c.ok());
    check_same_tree(src.path(), dst / "out");
  }

  TEST_CASE("we read what GNU tar writes in PAX, GNU and ustar formats") {
    for (const char* format : {"pax", "gnu", "ustar"}) {
      const std::string format_name = format;
      CAPTURE(format_name);
      test::TempDir src, work;
      make_tree(src.path());
      if (std::string(format) == "ustar") {  // ustar cannot hold the long names
        fs::remove_all(src / std::string(60, 'd'));
        fs::remove(src / "long-link");
      }
      Completed c =
          run_tar({"--format", format, "-cf", work / "a.tar", "-C", src.path(), "."}, work.path());
      CAPTURE(c.err);
      REQUIRE(c.ok());
      fs::create_directory(work / "out");
      REQUIRE(extract_tar(test::read_text(work / "a.tar"), work / "out"));
      check_same_tree(src.path(), work / "out");
    }
  }

  TEST_CASE("prefix, exclusions, extra files and owner override shape the archive") {
    test::TempDir src, dst;
    make_tree(src.path());
    test::write_text(dst / "extra-source", "extra\n", 0755);
    TarOptions o;
    o.prefix = "workspace";
    o.exclude = [](std::string_view rel, bool) { return rel == ".git" || rel == "big.bin"; };
    o.extra_files = {{dst / "extra-source", "tools/extra"}};
    o.uid = 1234;
    o.gid = 5678;
    Result<std::string> archive = tar_to_string(src.path(), o);
    REQUIRE(archive);
    fs::create_directory(dst / "out");
    test::write_text(dst / "a.tar", *archive);
    Completed list = run_tar({"--numeric-owner", "-tvf", dst / "a.tar"}, dst.path());
    REQUIRE(list.ok());
    CHECK(list.out.find("1234/5678") != std::string::npos);
    CHECK(list.out.find(" 0/0") == std::string::npos);
    REQUIRE(extract_tar(*archive, dst / "out", {.strip_components = 1}));
    CHECK(fs::exists(dst / "out/README.md"));
    CHECK_FALSE(fs::exists(dst / "out/.git"));
    CHECK_FALSE(fs::exists(dst / "out/big.bin"));
    CHECK(test::read_text(dst / "out/tools/extra") == "extra\n");
    CHECK((fs::status(dst / "out/tools/extra").permissions() & fs::perms::owner_exec) !=
          fs::perms::none);
  }

  TEST_CASE("device files are refused with their path and sockets are skipped") {
    test::TempDir src;
    REQUIRE(::mkfifo((src / "pipe").c_str(), 0644) == 0);
    Result<std::string> archive = tar_to_string(src.path());
    REQUIRE_FALSE(archive);
    CHECK(archive.error().code == Errc::invalid_argument);
    CHECK(archive.error().message.find(src / "pipe") != std::string::npos);
  }

  TEST_CASE("unsafe archive entries are refused and nothing lands outside") {
    struct Row {
      const char* what;
      std::string archive;
      const char* expect;
    };
    const Row rows[] = {
        {"absolute path", raw_entry("/tmp/para-tar-escape", '0', "x"), "absolute path"},
        {"dot-dot", raw_entry("a/../../escape", '0', "x"), "'..'"},
        {"absolute symlink", raw_entry("etc", '2', "", "/etc"), "absolute path"},
        {"escaping symlink", raw_entry("a/up", '2', "", "../../outside"), "outside"},
        {"write through an archive symlink",
         raw_entry("inside", '2', "", ".") + raw_entry("d", '5') + raw_entry("d/l", '2', "", "..") +
             raw_entry("d/l/x", '0', "data"),
         "through a symlink"},
        {"hard link outside", raw_entry("h", '1', "", "../etc/passwd"), "'..'"},
        {"character device", raw_entry("dev", '3'), "device"},
        {"fifo", raw_entry("fifo", '6'), "FIFO"},
        {"unknown type", raw_entry("sparse", 'S'), "unsupported type"},
    };
    for (const Row& r : rows) {
      const std::string what = r.what;
      CAPTURE(what);
      test::TempDir parent;
      fs::create_directory(parent / "dest");
      Result<void> res = extract_tar(r.archive + end_marker(), parent / "dest");
      REQUIRE_FALSE(res);
      CHECK(res.error().code == Errc::invalid_argument);
      CAPTURE(res.error().message);
      CHECK(res.error().message.find(r.expect) != std::string::npos);
      CHECK_FALSE(fs::exists("/tmp/para-tar-escape"));
      CHECK_FALSE(fs::exists(parent / "escape"));
      CHECK_FALSE(fs::exists(parent / "x"));
    }
  }

  TEST_CASE("an existing symlink on disk is replaced, never written through") {
    test::TempDir parent;
    fs::create_directory(parent / "dest");
    test::write_text(parent / "victim", "original\n");
    fs::create_symlink(parent / "victim", parent / "dest/file");
    fs::create_directory_symlink(parent.path(), parent / "dest/dir");
    // A file where a symlink is: replaced. A file below a symlinked dir: refused.
    REQUIRE(extract_tar(raw_entry("file", '0', "new\n") + end_marker(), parent / "dest"));
    CHECK(test::read_text(parent / "victim") == "original\n");
    CHECK_FALSE(fs::is_symlink(parent / "dest/file"));
    CHECK(test::read_text(parent / "dest/file") == "new\n");
    Result<void> r =
        extract_tar(raw_entry("dir/victim", '0', "pwned\n") + end_marker(), parent / "dest");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("through a symlink") != std::string::npos);
    CHECK(test::read_text(parent / "victim") == "original\n");
  }

  TEST_CASE("an existing hard link is replaced, not truncated") {
    test::TempDir parent;
    fs::create_directory(parent / "dest");
    test::write_text(parent / "outside", "keep me\n");
    fs::create_hard_link(parent / "outside", parent / "dest/f");
    REQUIRE(extract_tar(raw_entry("f", '0', "replaced\n") + end_marker(), parent / "dest"));
    CHECK(test::read_text(parent / "outside") == "keep me\n");
    CHECK(test::read_text(parent / "dest/f") == "replaced\n");
  }

  TEST_CASE("setuid bits never survive extraction and internal hard links work") {
    test::TempDir dest;
    REQUIRE(extract_tar(
        raw_entry("suid", '0', "x", "", 04755) + raw_entry("hl", '1', "", "suid") + end_marker(),
        dest.path()));
    struct stat st {};
    REQUIRE(::stat((dest / "suid").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(st.st_nlink == 2);
    CHECK(test::read_text(dest / "hl") == "x");
  }

  TEST_CASE("truncated and corrupt archives are errors") {
    test::TempDir dest;
    const std::string entry = raw_entry("f", '0', std::string(1000, 'a'));
    TarExtractor cut(dest.path());
    REQUIRE(cut.feed(std::string_view(entry).substr(0, 700)));
    Result<void> r = cut.finish();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("truncated") != std::string::npos);

    std::string corrupt = raw_entry("g", '0', "x");
    corrupt[0] = 'h';  // checksum no longer matches
    Result<void> c = extract_tar(corrupt, dest.path());
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("checksum") != std::string::npos);
  }

  TEST_CASE("max_bytes stops an archive that is too large") {
    test::TempDir dest;
    Result<void> r = extract_tar(raw_entry("a", '0', std::string(600, 'a')) +
                                     raw_entry("b", '0', std::string(600, 'b')) + end_marker(),
                                 dest.path(), {.max_bytes = 1000});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::denied);
  }

  TEST_CASE("safe_components normalises and refuses escapes") {
    CHECK(*safe_components("./a//b/./c/") == std::vector<std::string>{"a", "b", "c"});
    CHECK(safe_components("").value().empty());
    CHECK_FALSE(safe_components("/abs"));
    CHECK_FALSE(safe_components("a/../b"));
    CHECK_FALSE(safe_components(".."));
  }
}

}  // namespace para::docker
