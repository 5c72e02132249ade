#include "session/sandbox_settings.h"

#include <doctest/doctest.h>

namespace para::session {

TEST_SUITE("session/sandbox_settings") {
  TEST_CASE("para's precedence: no-network, then no-sandbox, then sandbox, then config") {
    Config c;
    SandboxFlags none;
    CHECK_FALSE(resolve_sandbox(c, none, std::nullopt)->enabled);

    c.sandbox.enabled = true;
    c.sandbox.profile = "restrictive";  // a legacy name: standard
    Result<SandboxSettings> from_config = resolve_sandbox(c, none, std::nullopt);
    CHECK(from_config->enabled);
    CHECK(from_config->profile == "standard");
    CHECK(from_config->network_mode == "open");

    Result<SandboxSettings> off =
        resolve_sandbox(c, SandboxFlags{.no_sandbox = true}, std::nullopt);
    CHECK_FALSE(off->enabled);

    Result<SandboxSettings> proxied = resolve_sandbox(
        c, SandboxFlags{.no_network = true, .allowed_domains = {"a.com"}}, std::nullopt);
    CHECK(proxied->profile == "standard-proxied");
    CHECK(proxied->network_mode == "proxied");
    CHECK(proxied->allowed_domains == std::vector<std::string>{"a.com"});
  }

  TEST_CASE("resume starts from the stored settings and flags override them") {
    Config c;
    SandboxSettings stored{true, "standard-proxied", "proxied", {"x.org"}};
    Result<SandboxSettings> same = resolve_sandbox(c, SandboxFlags{}, stored);
    CHECK(same->enabled);
    CHECK(same->network_mode == "proxied");
    CHECK(same->allowed_domains == std::vector<std::string>{"x.org"});
    Result<SandboxSettings> opened =
        resolve_sandbox(c, SandboxFlags{.profile = std::string("standard")}, stored);
    CHECK(opened->network_mode == "open");
  }

  TEST_CASE("contradictions and unknown profiles are errors") {
    Config c;
    CHECK_FALSE(
        resolve_sandbox(c, SandboxFlags{.sandbox = true, .no_sandbox = true}, std::nullopt));
    CHECK_FALSE(resolve_sandbox(c, SandboxFlags{.profile = std::string("yolo")}, std::nullopt));
    Result<SandboxSettings> domains_without_proxy = resolve_sandbox(
        c, SandboxFlags{.sandbox = true, .allowed_domains = {"a.com"}}, std::nullopt);
    REQUIRE_FALSE(domains_without_proxy);
    CHECK(domains_without_proxy.error().message.find("--sandbox-no-network") != std::string::npos);
  }

  TEST_CASE("sandbox.enforce refuses every weakening and allows strengthening") {
    Config c;
    c.sandbox.enabled = true;
    c.sandbox.profile = "standard-proxied";
    c.sandbox.enforce = true;
    for (const SandboxFlags& weaker :
         {SandboxFlags{.no_sandbox = true}, SandboxFlags{.profile = std::string("standard")},
          SandboxFlags{.no_network = true, .allowed_domains = {"evil.com"}}}) {
      Result<SandboxSettings> r = resolve_sandbox(c, weaker, std::nullopt);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::denied);
      CHECK(r.error().message.find("sandbox.enforce") != std::string::npos);
    }
    CHECK(resolve_sandbox(c, SandboxFlags{.no_network = true}, std::nullopt).has_value());
    c.sandbox.profile = "standard";
    CHECK(resolve_sandbox(c, SandboxFlags{.no_network = true}, std::nullopt).has_value());
  }
}

}  // namespace para::session
