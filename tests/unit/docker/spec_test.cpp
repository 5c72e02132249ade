#include "docker/spec.h"

#include <doctest/doctest.h>

#include <map>

namespace para::docker {
namespace {

ContainerSpec session_spec() {
  ContainerSpec s;
  s.name = "para-fix-login";
  s.image = "para-agent:latest";
  s.cmd = {"claude", "-p", "fix the login"};
  s.env = {{"HTTP_PROXY", "http://127.0.0.1:8877"}};
  s.secret_env = {{"ANTHROPIC_API_KEY", "sk-ant-secret-value"}};
  s.labels = {{kSessionLabel, "fix-login"}, {kRepoLabel, "/repo"}};
  s.mounts = {{Mount::Type::bind, "/repo/.para/worktrees/fix-login", "/workspace", false}};
  s.working_dir = "/workspace";
  s.network_mode = "none";
  s.memory_bytes = int64_t(512) << 20;
  s.nano_cpus = 1'500'000'000;
  s.pids_limit = 256;
  harden(s);
  return s;
}

}  // namespace

TEST_SUITE("docker/spec") {
  TEST_CASE("a session spec becomes the create body the Engine expects") {
    Result<nlohmann::json> body = create_body(session_spec());
    REQUIRE(body);
    const nlohmann::json& b = *body;
    CHECK(b["Image"] == "para-agent:latest");
    CHECK(b["Cmd"] == nlohmann::json({"claude", "-p", "fix the login"}));
    CHECK(b["Env"] == nlohmann::json({"HTTP_PROXY=http://127.0.0.1:8877",
                                      "ANTHROPIC_API_KEY=sk-ant-secret-value"}));
    CHECK(b["Labels"][kSessionLabel] == "fix-login");
    CHECK(b["WorkingDir"] == "/workspace");
    CHECK_FALSE(b.contains("Entrypoint"));
    const nlohmann::json& h = b["HostConfig"];
    CHECK(h["NetworkMode"] == "none");
    CHECK(h["Memory"] == int64_t(512) << 20);
    CHECK(h["MemorySwap"] == int64_t(512) << 20);
    CHECK(h["NanoCpus"] == 1'500'000'000);
    CHECK(h["PidsLimit"] == 256);
    CHECK(h["CapDrop"] == nlohmann::json({"ALL"}));
    CHECK(h["SecurityOpt"] == nlohmann::json({"no-new-privileges"}));
    CHECK(h["AutoRemove"] == false);
    CHECK(h["Mounts"][0] == nlohmann::json({{"Type", "bind"},
                                            {"Source", "/repo/.para/worktrees/fix-login"},
                                            {"Target", "/workspace"},
                                            {"ReadOnly", false}}));
  }

  TEST_CASE("unset limits are left out and an empty entrypoint clears the image's") {
    ContainerSpec s;
    s.image = "busybox";
    s.entrypoint = std::vector<std::string>{};
    Result<nlohmann::json> body = create_body(s);
    REQUIRE(body);
    CHECK((*body)["Entrypoint"] == nlohmann::json({""}));
    for (const char* k :
         {"Memory", "MemorySwap", "NanoCpus", "PidsLimit", "CapAdd", "CapDrop", "NetworkMode"}) {
      const std::string key = k;
      CAPTURE(key);
      CHECK_FALSE((*body)["HostConfig"].contains(k));
    }
  }

  TEST_CASE("harden is idempotent") {
    ContainerSpec s = session_spec();
    harden(s);
    CHECK(s.cap_drop == std::vector<std::string>{"ALL"});
    CHECK(s.security_opt == std::vector<std::string>{"no-new-privileges"});
  }

  TEST_CASE("describe lists forwarded keys by name and never their values") {
    const nlohmann::json d = describe(session_spec());
    CHECK(d["forwarded_keys"] == nlohmann::json({"ANTHROPIC_API_KEY"}));
    CHECK(d["env_keys"] == nlohmann::json({"HTTP_PROXY"}));
    CHECK(d.dump().find("sk-ant-secret-value") == std::string::npos);
    CHECK(d.dump().find("127.0.0.1:8877") == std::string::npos);
    CHECK(secret_values(session_spec()) == std::vector<std::string>{"sk-ant-secret-value"});
  }

  TEST_CASE("invalid specs are refused with the field named") {
    struct Row {
      const char* what;
      void (*mutate)(ContainerSpec&);
      const char* expect;
    };
    const Row rows[] = {
        {"bad name", [](ContainerSpec& s) { s.name = "para/evil"; }, "container name"},
        {"one-char name", [](ContainerSpec& s) { s.name = "p"; }, "container name"},
        {"empty image", [](ContainerSpec& s) { s.image = ""; }, "image"},
        {"relative bind", [](ContainerSpec& s) { s.mounts[0].source = "worktree"; },
         "absolute host path"},
        {"relative target", [](ContainerSpec& s) { s.mounts[0].target = "workspace"; },
         "mount target"},
        {"env name with =", [](ContainerSpec& s) { s.env["A=B"] = "x"; },
         "not a valid environment"},
        {"key twice", [](ContainerSpec& s) { s.env["ANTHROPIC_API_KEY"] = "x"; }, "both"},
        {"tiny memory", [](ContainerSpec& s) { s.memory_bytes = 1024; }, "6 MiB"},
        {"negative pids", [](ContainerSpec& s) { s.pids_limit = -5; }, "negative"},
        {"relative workdir", [](ContainerSpec& s) { s.working_dir = "w"; }, "working directory"},
    };
    for (const Row& r : rows) {
      const std::string what = r.what;
      CAPTURE(what);
      ContainerSpec s = session_spec();
      r.mutate(s);
      Result<nlohmann::json> body = create_body(s);
      REQUIRE_FALSE(body);
      CHECK(body.error().code == Errc::invalid_argument);
      CHECK(body.error().message.find(r.expect) != std::string::npos);
      CHECK(body.error().message.find("sk-ant-secret-value") == std::string::npos);
    }
  }

  TEST_CASE("text that JSON cannot carry is refused by field, never echoed") {
    CHECK(valid_utf8("plain ascii"));
    CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"));
    for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "ok\x80"}) {
      const std::string bad_text = bad;
      CAPTURE(bad_text);
      CHECK_FALSE(valid_utf8(bad));
    }
    ContainerSpec s = session_spec();
    s.secret_env["GITHUB_TOKEN"] = "ghp_\xff\xfe-secret";
    Result<nlohmann::json> body = create_body(s);
    REQUIRE_FALSE(body);
    CHECK(body.error().message ==
          "the value of forwarded variable GITHUB_TOKEN is not valid UTF-8 text");
    ContainerSpec p = session_spec();
    p.cmd = {"agent", "-p", "r\xe9sum\xe9 in latin-1"};
    Result<nlohmann::json> prompt = create_body(p);
    REQUIRE_FALSE(prompt);
    CHECK(prompt.error().message == "an argument of cmd is not valid UTF-8 text");
  }

  TEST_CASE("forwarded keys are the listed ones that are set and not empty") {
    CHECK(forwarded_env(
              {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN"},
              map_env({{"ANTHROPIC_API_KEY", "sk-a"}, {"GITHUB_TOKEN", ""}, {"UNRELATED", "x"}})) ==
          std::map<std::string, std::string>{{"ANTHROPIC_API_KEY", "sk-a"}});
  }

  TEST_CASE("memory sizes use docker's binary units") {
    struct Row {
      const char* text;
      int64_t bytes;
    };
    for (const Row& r : {Row{"1024", 1024}, Row{"512m", int64_t(512) << 20},
                         Row{"512M", int64_t(512) << 20}, Row{"1g", int64_t(1) << 30},
                         Row{"1.5g", int64_t(3) << 29}, Row{"64MiB", int64_t(64) << 20},
                         Row{"64mb", int64_t(64) << 20}, Row{"10 k", 10240}, Row{"7b", 7}}) {
      const std::string text = r.text;
      CAPTURE(text);
      Result<int64_t> v = parse_memory(r.text);
      REQUIRE(v);
      CHECK(*v == r.bytes);
    }
    for (const char* bad :
         {"", "m", "-1m", "1x", "1.m", "1gg", "99999999999999999999", "9999999999p"}) {
      const std::string bad_text = bad;
      CAPTURE(bad_text);
      CHECK_FALSE(parse_memory(bad));
    }
  }

  TEST_CASE("CPU counts become exact nano-CPUs") {
    CHECK(*parse_cpus("1") == 1'000'000'000);
    CHECK(*parse_cpus("0.5") == 500'000'000);
    CHECK(*parse_cpus(".25") == 250'000'000);
    CHECK(*parse_cpus("2.000000001") == 2'000'000'001);
    for (const char* bad : {"", "0", "abc", "1.0000000001", "-1", "1,5"}) {
      const std::string bad_text = bad;
      CAPTURE(bad_text);
      CHECK_FALSE(parse_cpus(bad));
    }
  }

  TEST_CASE("every supported docker_args flag is parsed in both spellings") {
    Result<DockerArgs> a = parse_docker_args({"-e",
                                              "A=1",
                                              "--env=B=two=2",
                                              "-eC=3",
                                              "-e",
                                              "FROM_HOST",
                                              "-e",
                                              "NOT_ON_HOST",
                                              "-v",
                                              "/data:/data:ro",
                                              "--volume=cache:/cache",
                                              "-m",
                                              "256m",
                                              "--cpus=0.5",
                                              "--pids-limit",
                                              "100",
                                              "--user=1000:1000",
                                              "-w",
                                              "/workspace/sub",
                                              "--label",
                                              "team=a",
                                              "-l",
                                              "flag",
                                              "--network",
                                              "none",
                                              "--cap-add=net_bind_service",
                                              "--cap-drop",
                                              "CAP_CHOWN"},
                                             map_env({{"FROM_HOST", "host-secret"}}));
    REQUIRE(a);
    CHECK(a->env == std::map<std::string, std::string>{{"A", "1"}, {"B", "two=2"}, {"C", "3"}});
    CHECK(a->secret_env == std::map<std::string, std::string>{{"FROM_HOST", "host-secret"}});
    REQUIRE(a->mounts.size() == 2);
    CHECK(a->mounts[0].type == Mount::Type::bind);
    CHECK(a->mounts[0].read_only);
    CHECK(a->mounts[1].type == Mount::Type::volume);
    CHECK(a->mounts[1].source == "cache");
    CHECK(*a->memory_bytes == int64_t(256) << 20);
    CHECK(*a->nano_cpus == 500'000'000);
    CHECK(*a->pids_limit == 100);
    CHECK(*a->user == "1000:1000");
    CHECK(*a->working_dir == "/workspace/sub");
    CHECK(a->labels == std::map<std::string, std::string>{{"team", "a"}, {"flag", ""}});
    CHECK(*a->network == "none");
    CHECK(a->cap_add == std::vector<std::string>{"NET_BIND_SERVICE"});
    CHECK(a->cap_drop == std::vector<std::string>{"CHOWN"});
    CHECK(isolation_weakenings(*a) ==
          std::vector<std::string>{
              "--cap-add NET_BIND_SERVICE grants a capability", "-v /data mounts a host path",
              "-v cache mounts a Docker volume (it may hold, or be bound to, the host's files)",
              "-e FROM_HOST copies a variable from para's environment (docker.forward_env_keys "
              "decides which reach containers)"});
  }

  TEST_CASE("anything else in docker_args is refused with the list of what is supported") {
    for (const std::vector<std::string>& bad :
         std::vector<std::vector<std::string>>{{"--privileged"},
                                               {"--pid=host"},
                                               {"-it"},
                                               {"image-name"},
                                               {"--device", "/dev/kvm"},
                                               {"--security-opt", "seccomp=unconfined"}}) {
      CAPTURE(bad[0]);
      Result<DockerArgs> a = parse_docker_args(bad, map_env({}));
      REQUIRE_FALSE(a);
      CHECK(a.error().code == Errc::invalid_argument);
      CHECK(a.error().message.find("not supported") != std::string::npos);
      CHECK(a.error().message.find("--pids-limit") != std::string::npos);
    }
  }

  TEST_CASE("bad values of supported flags say what is wrong") {
    struct Row {
      std::vector<std::string> args;
      const char* expect;
    };
    const Row rows[] = {
        {{"-e"}, "needs a value"},
        {{"-e", "=x"}, "not a valid environment"},
        {{"-v", "relative/path:/x"}, "absolute host path or a volume name"},
        {{"-v", "/a:relative"}, "absolute container path"},
        {{"-v", "/a:/b:z"}, "only options are ro and rw"},
        {{"-v", "/a"}, "anonymous volumes"},
        {{"-m", "1k"}, "minimum"},
        {{"--cpus", "lots"}, "--cpus"},
        {{"--pids-limit", "-3"}, "--pids-limit"},
        {{"--user", "a b"}, "USER:GROUP"},
        {{"-w", "rel"}, "absolute"},
        {{"--label", "dev.para.session=other"}, "para's own"},
        {{"--network", "bad/name"}, "network"},
        {{"--cap-add", "NET ADMIN"}, "capability"},
    };
    for (const Row& r : rows) {
      CAPTURE(r.args[0]);
      Result<DockerArgs> a = parse_docker_args(r.args, map_env({}));
      REQUIRE_FALSE(a);
      CHECK(a.error().message.find(r.expect) != std::string::npos);
    }
  }

  TEST_CASE("docker_args merge into a spec and later values win") {
    ContainerSpec s = session_spec();
    Result<DockerArgs> a = parse_docker_args(
        {"-e", "HTTP_PROXY=http://other", "--memory", "1g", "--pids-limit", "-1", "-l", "team=a"},
        map_env({}));
    REQUIRE(a);
    apply_docker_args(*a, s);
    CHECK(s.env["HTTP_PROXY"] == "http://other");
    CHECK(s.memory_bytes == int64_t(1) << 30);
    CHECK(s.pids_limit == 0);
    CHECK(s.labels["team"] == "a");
    CHECK(s.labels[kSessionLabel] == "fix-login");
    CHECK(s.nano_cpus == 1'500'000'000);
  }

  TEST_CASE("docker_args shown in listings keep names and hide every -e value") {
    CHECK(docker_args_for_display({"-e", "TOKEN=ghp_secret", "--env=B=2", "-eC=3", "--env", "D",
                                   "-m", "64m", "-l", "team=a"}) ==
          std::vector<std::string>{"-e", "TOKEN=[redacted]", "--env=B=[redacted]", "-eC=[redacted]",
                                   "--env", "D", "-m", "64m", "-l", "team=a"});
  }

  TEST_CASE("network, capability, volume and inherited-variable widenings are reported") {
    Result<DockerArgs> a = parse_docker_args(
        {"--network", "bridge", "-v", "vol:/v", "-e", "TOKEN", "-e", "UNSET", "-e", "X=1"},
        map_env({{"TOKEN", "secret"}}));
    REQUIRE(a);
    CHECK(isolation_weakenings(*a) ==
          std::vector<std::string>{
              "--network bridge gives the container a network",
              "-v vol mounts a Docker volume (it may hold, or be bound to, the host's files)",
              "-e TOKEN copies a variable from para's environment (docker.forward_env_keys "
              "decides which reach containers)"});
    Result<DockerArgs> none = parse_docker_args({"--network=none", "-m", "64m"}, map_env({}));
    REQUIRE(none);
    CHECK(isolation_weakenings(*none).empty());
  }

  TEST_CASE("raising or removing a configured limit is reported; lowering one is not") {
    ContainerSpec limits;
    limits.memory_bytes = 64 * 1024 * 1024;
    limits.pids_limit = 100;
    Result<DockerArgs> raise =
        parse_docker_args({"-m", "128m", "--pids-limit", "-1", "--cpus", "8"}, map_env({}));
    REQUIRE(raise);
    CHECK(limit_raises(*raise, limits) ==
          std::vector<std::string>{"--memory raises the configured memory limit",
                                   "--pids-limit removes the configured process limit"});
    Result<DockerArgs> lower =
        parse_docker_args({"-m", "32m", "--pids-limit", "100", "--cpus", "0.5"}, map_env({}));
    REQUIRE(lower);
    CHECK(limit_raises(*lower, limits).empty());
    limits.nano_cpus = 1'000'000'000;
    CHECK(limit_raises(*raise, limits) ==
          std::vector<std::string>{"--memory raises the configured memory limit",
                                   "--cpus raises the configured CPU limit",
                                   "--pids-limit removes the configured process limit"});
  }
}

}  // namespace para::docker
