#include "sandbox/sbpl.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/unit/sandbox/fake_fs.h"
#include "tests/unit/sandbox/sbpl_reader.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;

std::string golden_path(const std::string& name) {
  const char* root = std::getenv("PARA_SOURCE_ROOT");
  REQUIRE_MESSAGE(root != nullptr, "PARA_SOURCE_ROOT is not set; use meson test");
  return std::string(root) + "/tests/sandbox/golden/" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, std::string> param_map(const sb::SbplProfile& p) {
  std::map<std::string, std::string> m;
  for (const sb::SbplParam& x : p.params) m[x.name] = x.value;
  return m;
}

std::vector<std::string> policy_paths(const sb::Policy& p) {
  std::vector<std::string> out = {p.workdir, p.home, p.tmpdir};
  for (const auto* list : {&p.writable, &p.protect, &p.protect_missing, &p.deny_read}) {
    for (const sb::PathRule& r : *list) out.push_back(r.path);
  }
  return out;
}

// Renders, then runs the structural checker; returns the profile.
sb::SbplProfile checked(const sb::Policy& p) {
  Result<sb::SbplProfile> r = sb::render_sbpl_profile(p);
  REQUIRE(r);
  const std::vector<sbpl::Node> forms = sbpl::parse(r->text);
  const std::vector<std::string> problems = sbpl::check(forms, param_map(*r), policy_paths(p));
  for (const std::string& problem : problems) FAIL_CHECK(problem);
  return *r;
}

}  // namespace

TEST_SUITE("sandbox/sbpl") {
  TEST_CASE("sbpl_quote escapes quotes and backslashes and rejects what it cannot escape") {
    SUBCASE("plain") {
      CHECK(*sb::sbpl_quote("/dev/null") == "\"/dev/null\"");
    }
    SUBCASE("escaped") {
      CHECK(*sb::sbpl_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
    }
    SUBCASE("rejected") {
      for (const std::string& bad :
           {std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3),
            std::string("caf\xc3\xa9"), std::string("tab\there"), std::string(1025, 'x')}) {
        CAPTURE(bad);
        Result<std::string> q = sb::sbpl_quote(bad);
        REQUIRE_FALSE(q);
        CHECK(q.error().code == Errc::invalid_argument);
      }
      CHECK(sb::sbpl_quote(std::string(1024, 'x')));
    }
  }

  TEST_CASE("golden profiles: standard and standard-proxied under the reference policy") {
    const FakeFs fs = reference_host();
    for (const char* profile : {"standard", "standard-proxied"}) {
      CAPTURE(profile);
      Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, profile));
      REQUIRE(p);
      const sb::SbplProfile rendered = checked(*p);
      const std::string path = golden_path(std::string(profile) + ".sb");
      if (std::getenv("PARA_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(path, std::ios::binary) << rendered.text;
      }
      CHECK(rendered.text == slurp(path));
    }
  }

  TEST_CASE("the profile never contains the policy's paths, however hostile they are") {
    const std::vector<std::string> hostile = {"/work/we\"ird",
                                              "/work/back\\slash",
                                              "/work/paren)(allow default)(",
                                              "/work/new\nline",
                                              "/work/#\"raw\"",
                                              "/work/\xe2\x98\x83-snow",
                                              "/work/" + std::string(4000, 'a')};
    std::string first_text;
    for (const std::string& root : hostile) {
      CAPTURE(root);
      FakeFs fs = reference_host();
      const std::string w = root + "/repo/.para/worktrees/agent1";
      fs.add(w + "/.git", sb::PathKind::file);
      fs.add(root + "/repo/.git/worktrees/agent1");
      fs.add("/home/dev/.ssh" + root.substr(5));
      sb::PolicyInputs in = reference_inputs(fs, "standard-proxied");
      in.repo_root = root + "/repo";
      in.git_common_dir = root + "/repo/.git";
      in.worktree = w;
      in.state_dir = root + "/repo/.para/state";
      in.deny_read = std::vector<std::string>{"~/.ssh" + root.substr(5)};
      Result<sb::Policy> p = sb::build_policy(in);
      REQUIRE(p);
      const sb::SbplProfile rendered = checked(*p);
      if (first_text.empty()) first_text = rendered.text;
      CHECK(rendered.text == first_text);  // the text depends on the shape only
      bool found = false;
      for (const sb::SbplParam& param : rendered.params)
        found = found || param.value.find(root) == 0;
      CHECK(found);
      Result<std::vector<std::string>> argv = sb::sandbox_exec_argv(rendered, {"true"});
      if (root.size() > 1000) {
        REQUIRE_FALSE(argv);
        CHECK(argv.error().message.find("1024") != std::string::npos);
      } else {
        REQUIRE(argv);
        CHECK(std::find(argv->begin(), argv->end(), "WRITABLE_0=" + w) != argv->end());
      }
    }
  }

  TEST_CASE("the sandbox-exec argv: fixed path, -D parameters, the profile, then the command") {
    const FakeFs fs = reference_host();
    Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, "standard-proxied"));
    REQUIRE(p);
    const sb::SbplProfile rendered = checked(*p);
    Result<std::vector<std::string>> argv =
        sb::sandbox_exec_argv(rendered, {"claude", "-p", "x y"});
    REQUIRE(argv);
    const std::vector<std::string>& a = *argv;
    CHECK(a[0] == "/usr/bin/sandbox-exec");
    size_t i = 1;
    for (const sb::SbplParam& param : rendered.params) {
      REQUIRE(i + 1 < a.size());
      CHECK(a[i] == "-D");
      CHECK(a[i + 1] == param.name + "=" + param.value);
      i += 2;
    }
    CHECK(a[i] == "-p");
    CHECK(a[i + 1] == rendered.text);
    CHECK(a[i + 2] == "--");
    CHECK(std::vector<std::string>(a.begin() + static_cast<long>(i) + 3, a.end()) ==
          std::vector<std::string>{"claude", "-p", "x y"});
    Result<std::vector<std::string>> file =
        sb::sandbox_exec_argv(rendered, {"true"}, sb::ProfileSource::file, "/tmp/p.sb");
    REQUIRE(file);
    CHECK(std::find(file->begin(), file->end(), "-f") != file->end());
    CHECK_FALSE(sb::sandbox_exec_argv(rendered, {}));
    CHECK(rendered.text.find("8877") == std::string::npos);  // the port is a parameter
    CHECK(param_map(rendered).at("PROXY_PORT") == "8877");
  }

  TEST_CASE("a missing sandbox-exec is a fail-closed error") {
    Result<void> r = sb::check_sandbox_exec("/nonexistent/sandbox-exec");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::unavailable);
    CHECK(r.error().message.find("fail_open") != std::string::npos);
  }

  TEST_CASE("the structural checker catches what it must") {
    const std::map<std::string, std::string> params = {{"A", "/x"}};
    CHECK_THROWS(sbpl::parse("(allow file-read*"));
    CHECK_THROWS(sbpl::parse("(allow file-read*))"));
    CHECK_THROWS(sbpl::parse("(allow file-read* (regex #\"x\"))"));
    CHECK_FALSE(sbpl::check(sbpl::parse("(allow file-frobnicate)"), params, {}).empty());
    CHECK_FALSE(sbpl::check(sbpl::parse("(allow file-read* (glob \"x\"))"), params, {}).empty());
    CHECK_FALSE(
        sbpl::check(sbpl::parse("(allow file-read* (subpath (param \"B\")))"), params, {}).empty());
    CHECK_FALSE(sbpl::check(sbpl::parse("(allow file-read* (subpath \"/x/y\"))"), params, {"/x/y"})
                    .empty());
    CHECK(sbpl::check(sbpl::parse("(version 1)(allow file-read* (subpath (param \"A\")))"), params,
                      {})
              .empty());
  }
}

}  // namespace para::test
