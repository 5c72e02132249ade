#include "session/config.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "session/sandboxing.h"
#include "tests/support/support.h"

namespace para::session {

using nlohmann::json;

TEST_SUITE("session/config") {
  TEST_CASE("set types values by the schema and writes valid TOML") {
    test::TempDir dir;
    const std::string file = dir / "config.toml";
    CHECK(*set_config_value(file, "sandbox.enabled", "true") == json(true));
    CHECK(*set_config_value(file, "session.auto_cleanup_days", "7") == json(7));
    CHECK(*set_config_value(file, "docker.cpus", "1.5") == json(1.5));
    CHECK(*set_config_value(file, "sandbox.allowed_domains", "a.com, b.org,") ==
          json({"a.com", "b.org"}));
    CHECK(*set_config_value(file, "agent.command", R"(["my-agent", "--task", "{prompt}"])") ==
          json({"my-agent", "--task", "{prompt}"}));
    Result<json> doc = read_config_file(file);
    REQUIRE(doc);
    CHECK((*doc)["sandbox"]["enabled"] == true);
    CHECK((*doc)["agent"]["command"][2] == "{prompt}");
  }

  TEST_CASE("wrong types, unknown keys and invalid values change nothing") {
    test::TempDir dir;
    const std::string file = dir / "config.toml";
    REQUIRE(set_config_value(file, "git.auto_stage", "false"));
    const std::string before = test::read_text(file);
    for (const auto& [key_text, value] : {std::pair{"git.auto_stage", "nope"},
                                          {"session.max_archives", "-1"},
                                          {"nothing.here", "1"},
                                          {"sandbox.profile", "open-everything"},
                                          {"sandbox", "x"}}) {
      const std::string key = key_text;  // a copy: clang 14 cannot capture bindings
      CAPTURE(key);
      CHECK_FALSE(set_config_value(file, key, value));
      CHECK(test::read_text(file) == before);
    }
  }

  TEST_CASE("keys that widen what agents may do are refused through MCP; others are not") {
    for (const char* key :
         {"agent.command", "sandbox.enforce", "sandbox.enabled", "sandbox.fail_open",
          "sandbox.profile", "sandbox.extra_writable", "sandbox.forward_env", "proxy.resolve",
          "setup_script", "directories.subtrees_dir", "docker.setup_script"}) {
      CAPTURE(key);
      std::optional<Error> refused = refused_through_mcp(key);
      REQUIRE(refused);
      CHECK(refused->code == Errc::denied);
      CHECK(refused->message.find(std::string("para config set ") + key) != std::string::npos);
    }
    for (const char* key : {"sandbox.allowed_domains", "git.branch_prefix", "session.max_archives",
                            "docker.default_image", "sandbox.enforced"}) {
      CAPTURE(key);
      CHECK_FALSE(refused_through_mcp(key));
    }
  }

  TEST_CASE("a TOML syntax error names the file, line and column") {
    test::TempDir dir;
    test::write_text(dir / "config.toml", "[git]\nauto_stage = tru\n");
    Result<json> doc = read_config_file(dir / "config.toml");
    REQUIRE_FALSE(doc);
    CHECK(doc.error().message.find("config.toml:2:") != std::string::npos);
  }

  TEST_CASE("para's config.json is read when there is no TOML file") {
    test::TempDir dir;
    test::write_text(dir / "config.json", R"({"ide": {"name": "claude", "command": "claude",
      "user_data_dir": null, "wrapper": {"enabled": true, "name": "code", "command": "code"}},
      "directories": {"subtrees_dir": ".para/worktrees", "state_dir": ".para/state"},
      "git": {"branch_prefix": "para", "auto_stage": true, "auto_commit": true},
      "session": {"default_name_format": "%Y%m%d-%H%M%S", "preserve_on_finish": true,
                  "auto_cleanup_days": 30},
      "docker": {"setup_script": null, "default_image": null, "forward_env_keys": null},
      "sandbox": {"enabled": false, "profile": "permissive-open"}})");
    Result<json> doc = read_config_file(dir / "config.toml");
    REQUIRE(doc);
    CHECK((*doc)["session"]["preserve_on_finish"] == true);
  }

  TEST_CASE("the project file overrides scalars, unions domain lists, and cannot touch enforce") {
    test::TempDir home, repo;
    ::setenv("XDG_CONFIG_HOME", (home.path()).c_str(), 1);
    std::filesystem::create_directories(home / "para");
    std::filesystem::create_directories(repo / ".para");
    test::write_text(home / "para/config.toml",
                     "[sandbox]\nenabled = true\nenforce = true\nallowed_domains = [\"a.com\"]\n");
    test::write_text(
        repo / ".para/config.toml",
        "[sandbox]\nprofile = \"standard-proxied\"\nenforce = false\nfail_open = true\n"
        "allowed_domains = [\"b.org\", \"a.com\"]\n");
    Result<Config> c = load_config(repo.path());
    REQUIRE(c);
    CHECK(c->sandbox.enabled);
    CHECK(c->sandbox.profile == "standard-proxied");
    CHECK(c->sandbox.enforce);
    CHECK_FALSE(c->sandbox.fail_open);
    CHECK(c->sandbox.allowed_domains == std::vector<std::string>{"a.com", "b.org"});
    ::unsetenv("XDG_CONFIG_HOME");
  }

  TEST_CASE("sandbox.forward_env is taken from the user file and ignored in the project file") {
    test::TempDir home, repo;
    ::setenv("XDG_CONFIG_HOME", (home.path()).c_str(), 1);
    std::filesystem::create_directories(home / "para");
    std::filesystem::create_directories(repo / ".para");
    test::write_text(repo / ".para/config.toml", "[sandbox]\nforward_env = [\"GITHUB_TOKEN\"]\n");
    Result<Config> c = load_config(repo.path());
    REQUIRE(c);
    CHECK(c->sandbox.forward_env.empty());
    CHECK(c->effective["sandbox"]["forward_env"] == json::array());

    test::write_text(home / "para/config.toml",
                     "[sandbox]\nforward_env = [\"NPM_TOKEN\", \"AWS_*\"]\n");
    c = load_config(repo.path());
    REQUIRE(c);
    CHECK(c->sandbox.forward_env == std::vector<std::string>{"NPM_TOKEN", "AWS_*"});
    CHECK(c->effective["sandbox"]["forward_env"] == json({"NPM_TOKEN", "AWS_*"}));

    sandbox::PolicyInputs in;
    apply_config(*c, in);
    CHECK(in.forward_env == std::vector<std::string>{"NPM_TOKEN", "AWS_*"});
    ::unsetenv("XDG_CONFIG_HOME");
  }

  TEST_CASE("sandbox.forward_env takes names, NAME* prefixes and * alone") {
    test::TempDir dir;
    const std::string file = dir / "config.toml";
    CHECK(*set_config_value(file, "sandbox.forward_env", "NPM_TOKEN, AWS_*") ==
          json({"NPM_TOKEN", "AWS_*"}));
    CHECK(*set_config_value(file, "sandbox.forward_env", "*") == json({"*"}));
    for (const char* bad : {"A*B", "1ABC", "FOO=bar", "*FOO", "A B"}) {
      CAPTURE(bad);
      CHECK_FALSE(set_config_value(file, "sandbox.forward_env", bad));
    }
  }
}

}  // namespace para::session
