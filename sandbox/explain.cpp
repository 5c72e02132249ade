#include "sandbox/explain.h"

#include <cstdint>
#include <cstdio>

#include "sandbox/bwrap.h"
#include "sandbox/cache_overlay.h"
#include "sandbox/sbpl.h"

namespace para::sandbox {
namespace {

using nlohmann::json;

json rules(const std::vector<PathRule>& list) {
  json out = json::array();
  for (const PathRule& r : list) {
    out.push_back({{"path", r.path}, {"kind", path_kind_name(r.kind)}, {"reason", r.reason}});
  }
  return out;
}

// Display quoting for a shell reader; never executed.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789_-./:=,+@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

Result<Platform> parse_platform(const std::string& name) {
  if (name == "linux") return Platform::linux_bwrap;
  if (name == "macos") return Platform::macos_sbpl;
  return fail(Errc::invalid_argument, "unknown platform '" + name + "'; use linux or macos");
}

Result<json> explain(const Policy& p, Platform platform, const std::vector<std::string>& command,
                     const std::string& launcher) {
  json env_set = json::object();
  for (const auto& [k, v] : p.env_set) env_set[k] = v;
  json binds = json::array();
  for (const PrivateBind& b : p.private_binds) {
    binds.push_back({{"source", b.source},
                     {"target", b.target},
                     {"reason", b.reason},
                     {"read_only", b.read_only}});
  }
  json out = {
      {"platform", platform == Platform::linux_bwrap ? "linux" : "macos"},
      {"profile", p.profile},
      {"requested_profile", p.requested_profile},
      {"network", network_mode_name(p.network)},
      {"session", p.session},
      {"workdir", p.workdir},
      {"writable", rules(p.writable)},
      {"protected", rules(p.protect)},
      {"protected_if_created", rules(p.protect_missing)},
      {"protected_names", p.protected_names},
      {"deny_read", rules(p.deny_read)},
      {"hidden", rules(p.hidden)},
      {"read_only_again", rules(p.reveal)},
      {"private_binds", binds},
      {"environment", {{"set", env_set}, {"unset", p.env_unset}}},
      {"notes", p.notes},
  };
  if (p.network == NetworkMode::proxied) {
    out["proxy"] = {{"socket", p.proxy_socket},
                    {"port_inside", p.proxy_port},
                    {"allowed_domains", p.allowed_domains}};
  }
  if (platform == Platform::linux_bwrap) {
    json caches = json::array();
    for (const CacheOverlay& o : p.cache_overlays) {
      caches.push_back({{"target", o.cache},
                        {"source", cache_overlay_merged(o)},
                        {"reason", "copy-on-write: the host's cache below, writes in " + o.dir +
                                       "/upper (private, empty if no overlay can be mounted)"}});
    }
    out["cache_overlays"] = caches;
    std::vector<std::string> argv;
    if (!p.cache_overlays.empty() && !p.para_bin.empty()) {
      argv = cache_overlay_argv(p.para_bin, p.cache_overlays);
    }
    argv.push_back(launcher);
    const std::vector<std::string> rest = bwrap_argv(p, command);
    argv.insert(argv.end(), rest.begin(), rest.end());
    out["argv"] = argv;
    out["seccomp"] =
        std::string("kernel keyrings and io_uring refused") +
        (p.network != NetworkMode::proxied
             ? ", and socket(AF_UNIX) (FD is a memfd with the filter)"
             : "; socket(AF_UNIX) allowed, as the relay needs it: the network namespace "
               "isolates abstract sockets and host socket directories are hidden");
  } else {
    Result<SbplProfile> profile = render_sbpl_profile(p);
    if (!profile) return fail(profile.error());
    Result<std::vector<std::string>> argv = sandbox_exec_argv(*profile, command);
    if (!argv) return fail(argv.error());
    json params = json::object();
    for (const SbplParam& param : profile->params) params[param.name] = param.value;
    out["sbpl"] = profile->text;
    out["parameters"] = params;
    out["argv"] = *argv;
  }
  return out;
}

std::string explain_text(const json& e) {
  std::string out;
  out += "platform: " + e.value("platform", "") + "\n";
  out += "profile:  " + e.value("profile", "");
  if (e.value("requested_profile", "") != e.value("profile", "")) {
    out += " (requested as " + e.value("requested_profile", "") + ")";
  }
  out += "\nnetwork:  " + e.value("network", "") + "\n";
  if (!e.value("session", "").empty()) out += "session:  " + e.value("session", "") + "\n";
  out += "workdir:  " + e.value("workdir", "") + "\n";
  const auto section = [&](const char* key, const char* title) {
    if (!e.contains(key) || e[key].empty()) return;
    out += std::string("\n") + title + ":\n";
    for (const json& r : e[key]) {
      if (r.is_string()) {
        out += "  " + r.get<std::string>() + "\n";
      } else if (r.contains("target")) {
        out += "  " + r.value("target", "") + " <- " + r.value("source", "") + "  (" +
               (r.value("read_only", false) ? "read-only: " : "") + r.value("reason", "") + ")\n";
      } else {
        out += "  " + r.value("path", "") + "  (" + r.value("reason", "") + ")\n";
      }
    }
  };
  section("writable", "writable");
  section("protected", "read-only inside writable roots");
  section("protected_if_created", "refused if created (macOS; on Linux not enforced)");
  section("deny_read", "hidden (read denied)");
  section("hidden", "replaced by an empty directory (host sockets)");
  section("read_only_again", "read-only again under those");
  section("private_binds", "private to the sandbox");
  section("cache_overlays", "tool caches, copy-on-write");
  out += "\nenvironment set:\n";
  for (const auto& [k, v] : e["environment"]["set"].items()) {
    out += "  " + k + "=" + v.get<std::string>() + "\n";
  }
  out += "environment removed:";
  for (const json& k : e["environment"]["unset"]) out += " " + k.get<std::string>();
  out += "\n";
  if (e.contains("proxy")) out += "\nproxy: " + e["proxy"].dump() + "\n";
  if (e.contains("seccomp")) out += "\nseccomp: " + e.value("seccomp", "") + "\n";
  section("notes", "notes");
  if (e.contains("sbpl")) {
    out += "\nparameters:\n";
    for (const auto& [k, v] : e["parameters"].items()) {
      out += "  " + k + "=" + v.get<std::string>() + "\n";
    }
    out += "\nprofile:\n" + e.value("sbpl", "");
  }
  out += "\nargv:\n ";
  for (const json& a : e["argv"]) {
    const std::string word = a.get<std::string>();
    out += " " + (word.find('\n') != std::string::npos ? std::string("'<profile text>'")
                                                       : shell_word(word));
  }
  out += "\n";
  return out;
}

std::string default_runtime_dir(const std::string& tmp_root, unsigned uid,
                                const std::string& repo_root, const std::string& session) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : repo_root) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return tmp_root + "/para-" + std::to_string(uid) + "/" + std::string(hex, 12) + "-" + session;
}

}  // namespace para::sandbox
