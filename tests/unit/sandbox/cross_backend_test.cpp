// One table, two backends: for the same policy, the bubblewrap plan and the
// SBPL profile must give the same answer for every path and network target.
// The plan is evaluated as the kernel applies mounts (the last mount whose
// target contains the path decides); the profile by the SBPL reader, under
// both "last match wins" and "first match wins".

#include <doctest/doctest.h>

#include <algorithm>

#include "sandbox/bwrap.h"
#include "sandbox/cache_overlay.h"
#include "sandbox/sbpl.h"
#include "tests/unit/sandbox/fake_fs.h"
#include "tests/unit/sandbox/sbpl_reader.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;

struct Answer {
  bool read = false;   // the host's content can be read
  bool write = false;  // a write reaches the host's file
};

// The mount that decides a path: the last one whose target contains it.
Answer bwrap_answer(const sb::Policy& p, const sb::BwrapPlan& plan, const std::string& path) {
  const sb::MountOp* last = nullptr;
  for (const sb::MountOp& m : plan.mounts) {
    if (sb::path_within(path, m.target)) last = &m;
  }
  REQUIRE(last != nullptr);
  switch (last->kind) {
    case sb::MountKind::ro_bind:
      return {last->source == last->target || last->target == "/", false};
    case sb::MountKind::bind:
    case sb::MountKind::pin:
      if (last->source != last->target) {  // a private copy: only the session ref comes back
        // A tool cache: the host's content below, writes in the session's layer.
        for (const sb::CacheOverlay& o : p.cache_overlays) {
          if (last->source == sb::cache_overlay_merged(o)) return {true, false};
        }
        // New objects come back too, through the verified import.
        if (p.git && last->source == p.git->objects) return {false, true};
        const bool synced = p.git && (path == p.git->ref_file || path == p.git->reflog_file);
        return {synced, synced};
      }
      return {true, true};
    case sb::MountKind::tmpfs:  // hidden socket dirs: a private, empty directory
    case sb::MountKind::hide_dir:
    case sb::MountKind::hide_file:
    case sb::MountKind::dev:
    case sb::MountKind::proc:
      return {false, false};
  }
  return {};
}

bool bwrap_network(const sb::BwrapPlan& plan, const sbpl::Query& q) {
  if (q.proto == "unix") return false;  // hidden dirs or the seccomp filter: never the host's
  if (plan.share_net) return true;
  // An empty network namespace: only the relay's port leads out.
  const bool relay = !plan.command.empty() && plan.command[0] == sb::kRelayInside;
  return relay && q.proto == "tcp" && (q.host == "127.0.0.1" || q.host == "::1") && q.port == 8877;
}

Answer sbpl_answer(const std::vector<sbpl::Node>& forms,
                   const std::map<std::string, std::string>& params, const std::string& path) {
  Answer a;
  for (bool last : {true, false}) {
    const bool r =
        sbpl::allowed(forms, params, {.operation = "file-read-data", .path = path}, last);
    const bool w =
        sbpl::allowed(forms, params, {.operation = "file-write-create", .path = path}, last);
    if (last) {
      a = {r, w};
    } else {
      CHECK_MESSAGE(r == a.read, "rule order matters for reading " << path);
      CHECK_MESSAGE(w == a.write, "rule order matters for writing " << path);
    }
  }
  return a;
}

}  // namespace

TEST_SUITE("sandbox/cross_backend") {
  TEST_CASE("bubblewrap and SBPL agree on every path and network target") {
    const FakeFs fs = reference_host();
    const std::string r = "/work/repo", g = r + "/.git", w = r + "/.para/worktrees/agent1",
                      h = "/home/dev";
    struct PathRow {
      std::string path;
      bool read, write;
    };
    const std::vector<PathRow> paths = {
        {w + "/src/main.c", true, true},
        {w + "/new-file", true, true},
        {w + "/.git", true, false},
        {w + "/.envrc", true, false},
        {w + "/sub/.git/hooks/pre-commit", true, false},
        {w + "/sub/.git/config", true, false},
        {g + "/config", true, false},
        {g + "/hooks/pre-commit", true, false},
        {g + "/packed-refs", true, false},
        {g + "/refs/heads/main", true, false},
        {g + "/refs/heads/para/agent1", true, true},
        {g + "/refs/heads/para/other1", false, false},
        {g + "/objects/ab/cdef", true, true},
        {g + "/objects/info/alternates", true, false},
        {g + "/worktrees/agent1/index", true, true},
        {g + "/worktrees/agent1/commondir", true, false},
        {r + "/README.md", true, false},
        {r + "/.para/config.toml", true, false},
        {r + "/.para/state/agent1/status.json", true, true},
        {r + "/.para/state/agent1.state", true, false},
        {r + "/.para/worktrees/other1/x", true, false},
        {"/tmp/para-1000/x-agent1/tmp/scratch", true, true},
        {h + "/.bashrc", true, false},
        {h + "/.gitconfig", true, false},
        {h + "/.claude/projects/p.jsonl", true, true},
        {h + "/.claude/settings.json", true, false},
        {h + "/.claude/hooks/h.sh", true, false},
        {h + "/.claude.json", true, true},
        {h + "/.ssh/id_ed25519", false, false},
        {h + "/.netrc", false, false},
        {h + "/.cache/pip/x", true, true},
        {"/etc/passwd", true, false},
        {"/usr/bin/env", true, false},
    };
    struct NetRow {
      sbpl::Query q;
      bool open, proxied;
    };
    const std::vector<NetRow> net = {
        {{.operation = "network-outbound", .proto = "tcp", .host = "127.0.0.1", .port = 8877},
         true,
         true},
        {{.operation = "network-outbound", .proto = "tcp", .host = "::1", .port = 8877},
         true,
         true},
        {{.operation = "network-outbound", .proto = "tcp", .host = "127.0.0.1", .port = 22},
         true,
         false},
        {{.operation = "network-outbound", .proto = "tcp", .host = "93.184.216.34", .port = 443},
         true,
         false},
        {{.operation = "network-outbound", .proto = "udp", .host = "8.8.8.8", .port = 53},
         true,
         false},
        {{.operation = "network-outbound", .proto = "udp", .host = "127.0.0.1", .port = 53},
         true,
         false},
        {{.operation = "network-outbound", .path = "/var/run/docker.sock", .proto = "unix"},
         false,
         false},
        {{.operation = "network-outbound", .path = "/private/tmp/ssh-x/agent.1", .proto = "unix"},
         false,
         false},
    };
    for (const char* profile : {"standard", "standard-proxied"}) {
      CAPTURE(profile);
      Result<sb::Policy> p = sb::build_policy(reference_inputs(fs, profile));
      REQUIRE(p);
      const sb::BwrapPlan plan = sb::bwrap_plan(*p, {"true"});
      Result<sb::SbplProfile> sbpl_profile = sb::render_sbpl_profile(*p);
      REQUIRE(sbpl_profile);
      const std::vector<sbpl::Node> forms = sbpl::parse(sbpl_profile->text);
      std::map<std::string, std::string> params;
      for (const sb::SbplParam& x : sbpl_profile->params) params[x.name] = x.value;
      for (const PathRow& row : paths) {
        CAPTURE(row.path);
        const Answer linux_answer = bwrap_answer(*p, plan, row.path);
        const Answer mac_answer = sbpl_answer(forms, params, row.path);
        // Tool caches: Linux keeps the agent's writes in the session's own
        // layer (copy-on-write); SBPL cannot, so on macOS they are shared.
        const bool cache = std::any_of(
            p->cache_overlays.begin(), p->cache_overlays.end(),
            [&](const sb::CacheOverlay& o) { return sb::path_within(row.path, o.cache); });
        CHECK(linux_answer.write == (row.write && !cache));
        CHECK(mac_answer.write == row.write);
        // Different views on Linux: other sessions' refs are hidden, and
        // G/objects is the sandbox's private store (the repository's is its
        // read-only alternate at /run/para/objects); macOS reads them all.
        const bool other_ref = row.path == g + "/refs/heads/para/other1";
        if (!other_ref && row.path != g + "/objects/ab/cdef" &&
            row.path != g + "/objects/info/alternates") {
          CHECK(linux_answer.read == row.read);
        }
        if (!other_ref) CHECK(mac_answer.read == row.read);
      }
      const bool proxied = p->network == sb::NetworkMode::proxied;
      for (const NetRow& row : net) {
        CAPTURE(row.q.proto);
        CAPTURE(row.q.host);
        CAPTURE(row.q.port);
        CAPTURE(row.q.path);
        const bool want = proxied ? row.proxied : row.open;
        CHECK(bwrap_network(plan, row.q) == want);
        CHECK(sbpl::allowed(forms, params, row.q) == want);
        CHECK(sbpl::allowed(forms, params, row.q, false) == want);
      }
    }
  }
}

}  // namespace para::test
