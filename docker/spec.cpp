#include "docker/spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "docker/redact.h"

namespace para::docker {
namespace {

using nlohmann::json;

constexpr int64_t kMinMemory = int64_t(6) << 20;  // the daemon refuses less than 6 MiB

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// [a-zA-Z0-9][a-zA-Z0-9_.-]+ : the daemon's rule for container and volume names.
bool valid_object_name(std::string_view name) {
  if (name.size() < 2 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), is_name_char);
}

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

bool absolute(std::string_view path) {
  return !path.empty() && path[0] == '/';
}

// Text fields: no NUL (C strings on the daemon's side) and UTF-8 (JSON).
Result<void> check_text(std::string_view value, const std::string& field) {
  if (has_nul(value)) return fail(Errc::invalid_argument, field + " contains a NUL byte");
  if (!valid_utf8(value)) return fail(Errc::invalid_argument, field + " is not valid UTF-8 text");
  return {};
}

Result<void> check_env_name(const std::string& key, const char* field) {
  if (key.empty() || key.find('=') != std::string::npos || has_nul(key)) {
    return fail(Errc::invalid_argument,
                std::string(field) + ": '" + key + "' is not a valid environment variable name");
  }
  return {};
}

// Every string of the spec is checked for NUL and UTF-8 before anything
// else, so that the JSON body can always be written.
Result<void> check_all_text(const ContainerSpec& spec) {
  std::vector<std::pair<std::string_view, std::string>> fields = {
      {spec.name, "the container name"},
      {spec.image, "the image name"},
      {spec.working_dir, "the working directory"},
      {spec.user, "the user"},
      {spec.network_mode, "the network mode"}};
  for (const std::string& a : spec.cmd) fields.emplace_back(a, "an argument of cmd");
  if (spec.entrypoint) {
    for (const std::string& a : *spec.entrypoint) fields.emplace_back(a, "an entrypoint argument");
  }
  for (const auto& [k, v] : spec.env) {
    fields.emplace_back(k, "an env name");
    fields.emplace_back(v, "the value of env " + (valid_utf8(k) ? k : std::string("?")));
  }
  for (const auto& [k, v] : spec.secret_env) {
    fields.emplace_back(k, "a forwarded variable name");
    fields.emplace_back(
        v, "the value of forwarded variable " + (valid_utf8(k) ? k : std::string("?")));
  }
  for (const auto& [k, v] : spec.labels) {
    fields.emplace_back(k, "a label name");
    fields.emplace_back(v, "a label value");
  }
  for (const Mount& m : spec.mounts) {
    fields.emplace_back(m.source, "a mount source");
    fields.emplace_back(m.target, "a mount target");
  }
  for (const auto& [k, v] : spec.tmpfs) {
    fields.emplace_back(k, "a tmpfs path");
    fields.emplace_back(v, "tmpfs options");
  }
  for (const auto* list : {&spec.cap_add, &spec.cap_drop, &spec.security_opt}) {
    for (const std::string& v : *list) fields.emplace_back(v, "a capability or security option");
  }
  for (const auto& [value, field] : fields) {
    if (Result<void> r = check_text(value, field); !r) return r;
  }
  return {};
}

Result<void> check_spec(const ContainerSpec& spec) {
  if (Result<void> r = check_all_text(spec); !r) return r;
  if (!spec.name.empty() && !valid_container_name(spec.name)) {
    return fail(Errc::invalid_argument,
                "container name '" + spec.name +
                    "' is not valid: use letters, digits, '_', '.' and '-', starting with a "
                    "letter or digit");
  }
  if (spec.image.empty() || has_nul(spec.image) ||
      std::any_of(spec.image.begin(), spec.image.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return fail(Errc::invalid_argument, "image '" + spec.image + "' is not a valid image name");
  }
  for (const std::string& a : spec.cmd) {
    if (has_nul(a)) return fail(Errc::invalid_argument, "cmd: an argument contains a NUL byte");
  }
  for (const auto& [k, v] : spec.env) {
    if (Result<void> r = check_env_name(k, "env"); !r) return r;
    if (has_nul(v)) return fail(Errc::invalid_argument, "env: the value of " + k + " has a NUL");
    if (spec.secret_env.count(k) != 0) {
      return fail(Errc::invalid_argument,
                  "env: " + k + " is both a plain and a forwarded (secret) variable");
    }
  }
  for (const auto& [k, v] : spec.secret_env) {
    if (Result<void> r = check_env_name(k, "secret_env"); !r) return r;
    if (has_nul(v)) {
      return fail(Errc::invalid_argument, "secret_env: the value of " + k + " has a NUL");
    }
  }
  for (const auto& [k, v] : spec.labels) {
    if (k.empty() || has_nul(k) || has_nul(v)) {
      return fail(Errc::invalid_argument, "labels: '" + k + "' is not a valid label");
    }
  }
  for (const Mount& m : spec.mounts) {
    if (!absolute(m.target) || m.target == "/" || has_nul(m.target)) {
      return fail(Errc::invalid_argument,
                  "mount target '" + m.target + "' must be an absolute path other than /");
    }
    if (m.type == Mount::Type::bind && (!absolute(m.source) || has_nul(m.source))) {
      return fail(Errc::invalid_argument,
                  "bind mount source '" + m.source + "' must be an absolute host path");
    }
    if (m.type == Mount::Type::volume && !valid_object_name(m.source)) {
      return fail(Errc::invalid_argument, "volume name '" + m.source + "' is not valid");
    }
  }
  for (const auto& [path, options] : spec.tmpfs) {
    if (!absolute(path) || has_nul(path) || has_nul(options)) {
      return fail(Errc::invalid_argument, "tmpfs path '" + path + "' must be absolute");
    }
  }
  if (!spec.working_dir.empty() && !absolute(spec.working_dir)) {
    return fail(Errc::invalid_argument,
                "working directory '" + spec.working_dir + "' must be an absolute path");
  }
  if (spec.memory_bytes < 0 || spec.nano_cpus < 0 || spec.pids_limit < 0) {
    return fail(Errc::invalid_argument, "resource limits must not be negative");
  }
  if (spec.memory_bytes != 0 && spec.memory_bytes < kMinMemory) {
    return fail(Errc::invalid_argument, "memory limit " + std::to_string(spec.memory_bytes) +
                                            " bytes is below Docker's minimum of 6 MiB");
  }
  return {};
}

json mount_json(const Mount& m) {
  return {{"Type", m.type == Mount::Type::bind ? "bind" : "volume"},
          {"Source", m.source},
          {"Target", m.target},
          {"ReadOnly", m.read_only}};
}

}  // namespace

bool valid_container_name(std::string_view name) {
  return valid_object_name(name);
}

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond Unicode are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

std::map<std::string, std::string> forwarded_env(const std::vector<std::string>& keys,
                                                 const EnvLookup& env) {
  std::map<std::string, std::string> out;
  for (const std::string& key : keys) {
    std::optional<std::string> value = env(key);
    if (value && !value->empty()) out[key] = *value;
  }
  return out;
}

void harden(ContainerSpec& spec) {
  // The form the docker CLI sends; "no-new-privileges:true" makes dockerd log
  // a deprecation warning on every create.
  const std::string nnp = "no-new-privileges";
  if (std::find(spec.security_opt.begin(), spec.security_opt.end(), nnp) ==
      spec.security_opt.end()) {
    spec.security_opt.push_back(nnp);
  }
  if (std::find(spec.cap_drop.begin(), spec.cap_drop.end(), "ALL") == spec.cap_drop.end()) {
    spec.cap_drop.push_back("ALL");
  }
}

Result<json> create_body(const ContainerSpec& spec) {
  if (Result<void> r = check_spec(spec); !r) return fail(r.error());
  json env = json::array();
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  for (const auto& [k, v] : spec.secret_env) env.push_back(k + "=" + v);

  json body = {{"Image", spec.image},   {"Env", std::move(env)}, {"Labels", spec.labels},
               {"Tty", spec.tty},       {"OpenStdin", false},    {"AttachStdin", false},
               {"AttachStdout", false}, {"AttachStderr", false}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (spec.entrypoint) {
    // An empty list would mean "the image's"; [""] is how the API clears it.
    body["Entrypoint"] = spec.entrypoint->empty() ? json::array({""}) : json(*spec.entrypoint);
  }
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) body["User"] = spec.user;
  if (spec.stop_timeout_seconds) body["StopTimeout"] = *spec.stop_timeout_seconds;

  json host = {{"AutoRemove", spec.auto_remove},
               {"Init", spec.init},
               {"ReadonlyRootfs", spec.read_only_rootfs}};
  json mounts = json::array();
  for (const Mount& m : spec.mounts) mounts.push_back(mount_json(m));
  host["Mounts"] = std::move(mounts);
  if (!spec.tmpfs.empty()) host["Tmpfs"] = spec.tmpfs;
  if (!spec.network_mode.empty()) host["NetworkMode"] = spec.network_mode;
  if (spec.memory_bytes > 0) {
    host["Memory"] = spec.memory_bytes;
    host["MemorySwap"] = spec.memory_bytes;  // equal to Memory: no swap on top
  }
  if (spec.nano_cpus > 0) host["NanoCpus"] = spec.nano_cpus;
  if (spec.pids_limit > 0) host["PidsLimit"] = spec.pids_limit;
  if (!spec.cap_add.empty()) host["CapAdd"] = spec.cap_add;
  if (!spec.cap_drop.empty()) host["CapDrop"] = spec.cap_drop;
  if (!spec.security_opt.empty()) host["SecurityOpt"] = spec.security_opt;
  body["HostConfig"] = std::move(host);
  return body;
}

std::vector<std::string> secret_values(const ContainerSpec& spec) {
  std::vector<std::string> out;
  for (const auto& [k, v] : spec.secret_env) {
    if (!v.empty()) out.push_back(v);
  }
  return out;
}

json describe(const ContainerSpec& spec) {
  json env_keys = json::array(), secret_keys = json::array(), mounts = json::array();
  for (const auto& [k, v] : spec.env) env_keys.push_back(k);
  for (const auto& [k, v] : spec.secret_env) secret_keys.push_back(k);
  for (const Mount& m : spec.mounts) mounts.push_back(mount_json(m));
  json d = {{"name", spec.name},
            {"image", spec.image},
            {"cmd", spec.cmd},
            {"env_keys", std::move(env_keys)},
            {"forwarded_keys", std::move(secret_keys)},
            {"labels", spec.labels},
            {"mounts", std::move(mounts)},
            {"tmpfs", spec.tmpfs},
            {"working_dir", spec.working_dir},
            {"user", spec.user},
            {"network_mode", spec.network_mode},
            {"memory_bytes", spec.memory_bytes},
            {"nano_cpus", spec.nano_cpus},
            {"pids_limit", spec.pids_limit},
            {"cap_add", spec.cap_add},
            {"cap_drop", spec.cap_drop},
            {"security_opt", spec.security_opt},
            {"init", spec.init},
            {"read_only_rootfs", spec.read_only_rootfs}};
  if (spec.entrypoint) d["entrypoint"] = *spec.entrypoint;
  return d;
}

// ---------------------------------------------------------------- units

Result<int64_t> parse_memory(std::string_view text) {
  const std::string original(text);
  const auto bad = [&] {
    return fail(Errc::invalid_argument,
                "memory size '" + original +
                    "' is not valid: use a number with an optional unit b, k, m, g "
                    "(binary: 1k = 1024), e.g. 512m or 1.5g");
  };
  size_t i = 0;
  uint64_t whole = 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (whole > (std::numeric_limits<uint64_t>::max() - 9) / 10) return bad();
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0) return bad();
  uint64_t frac = 0, frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (frac_digits < 9) {
        frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
        frac_scale *= 10;
      }
      ++i;
      ++frac_digits;
    }
    if (frac_digits == 0) return bad();
  }
  if (i < text.size() && text[i] == ' ') ++i;
  uint64_t mult = 1;
  if (i < text.size()) {
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 'k':
        mult = uint64_t(1) << 10;
        ++i;
        break;
      case 'm':
        mult = uint64_t(1) << 20;
        ++i;
        break;
      case 'g':
        mult = uint64_t(1) << 30;
        ++i;
        break;
      case 't':
        mult = uint64_t(1) << 40;
        ++i;
        break;
      case 'p':
        mult = uint64_t(1) << 50;
        ++i;
        break;
      default:
        break;
    }
    if (mult > 1 && i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'i') {
      ++i;
    }
    if (i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'b') ++i;
  }
  if (i != text.size()) return bad();
  const uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (whole > max / mult) return bad();
  const uint64_t bytes = whole * mult + (frac * mult) / frac_scale;  // frac*mult <= 1e9*2^50 fits
  if (bytes > max) return bad();
  return static_cast<int64_t>(bytes);
}

Result<int64_t> parse_cpus(std::string_view text) {
  const std::string original(text);
  const auto bad = [&](const std::string& why) {
    return fail(Errc::invalid_argument, "--cpus '" + original + "' is not valid: " + why);
  };
  size_t i = 0;
  int64_t whole = 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (whole > 1'000'000) return bad("too many CPUs");
    whole = whole * 10 + (text[i] - '0');
    ++i;
    ++digits;
  }
  int64_t nanos = 0;
  size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int64_t scale = 100'000'000;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (++frac_digits > 9) return bad("more precise than a nano-CPU");
      nanos += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  if (i != text.size() || (digits == 0 && frac_digits == 0)) return bad("expected a number");
  const int64_t total = whole * 1'000'000'000 + nanos;
  if (total <= 0) return bad("must be greater than 0");
  return total;
}

// ---------------------------------------------------------------- docker_args

const std::string& supported_docker_args() {
  static const std::string text =
      "supported docker_args: -e/--env NAME=VALUE or NAME (value from para's environment), "
      "-v/--volume SOURCE:TARGET[:ro|rw], -m/--memory SIZE, --cpus N, --pids-limit N, "
      "-u/--user USER[:GROUP], -w/--workdir DIR, -l/--label KEY=VALUE, --network NAME, "
      "--cap-add CAP, --cap-drop CAP";
  return text;
}

namespace {

enum class Flag {
  env,
  volume,
  memory,
  cpus,
  pids_limit,
  user,
  workdir,
  label,
  network,
  cap_add,
  cap_drop
};

struct FlagDef {
  std::string_view long_name;
  char short_name;
  Flag flag;
};

constexpr FlagDef kFlags[] = {
    {"env", 'e', Flag::env},
    {"volume", 'v', Flag::volume},
    {"memory", 'm', Flag::memory},
    {"cpus", 0, Flag::cpus},
    {"pids-limit", 0, Flag::pids_limit},
    {"user", 'u', Flag::user},
    {"workdir", 'w', Flag::workdir},
    {"label", 'l', Flag::label},
    {"network", 0, Flag::network},
    {"cap-add", 0, Flag::cap_add},
    {"cap-drop", 0, Flag::cap_drop},
};

Error unsupported(const std::string& arg) {
  return fail(Errc::invalid_argument,
              "docker_args: '" + arg + "' is not supported; " + supported_docker_args());
}

Result<Mount> parse_volume(const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t colon = value.find(':', start);
    parts.push_back(value.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const auto bad = [&](const std::string& why) {
    return fail(Errc::invalid_argument, "docker_args: -v " + value + ": " + why);
  };
  if (parts.size() < 2 || parts.size() > 3) {
    return bad("expected SOURCE:TARGET or SOURCE:TARGET:ro (anonymous volumes are not supported)");
  }
  Mount m;
  m.source = parts[0];
  m.target = parts[1];
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      m.read_only = true;
    } else if (parts[2] != "rw") {
      return bad("the only options are ro and rw");
    }
  }
  if (m.source.empty()) return bad("the source is empty");
  if (absolute(m.source)) {
    m.type = Mount::Type::bind;
  } else if (valid_object_name(m.source)) {
    m.type = Mount::Type::volume;
  } else {
    return bad("the source must be an absolute host path or a volume name");
  }
  if (!absolute(m.target) || m.target == "/") {
    return bad("the target must be an absolute container path other than /");
  }
  return m;
}

Result<std::string> parse_capability(const std::string& value, const char* flag) {
  std::string cap;
  for (char c : value) cap += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (cap.starts_with("CAP_")) cap.erase(0, 4);
  if (cap.empty() || !std::all_of(cap.begin(), cap.end(),
                                  [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; })) {
    return fail(Errc::invalid_argument,
                std::string("docker_args: ") + flag + " " + value + ": not a capability name");
  }
  return cap;
}

bool valid_user(const std::string& user) {
  if (user.empty()) return false;
  const size_t colon = user.find(':');
  const auto part_ok = [](std::string_view p) {
    return !p.empty() && std::all_of(p.begin(), p.end(), is_name_char);
  };
  if (colon == std::string::npos) return part_ok(user);
  return part_ok(std::string_view(user).substr(0, colon)) &&
         part_ok(std::string_view(user).substr(colon + 1));
}

Result<void> apply_flag(Flag flag, const std::string& value, const EnvLookup& host_env,
                        DockerArgs& out) {
  switch (flag) {
    case Flag::env: {
      const size_t eq = value.find('=');
      const std::string key = value.substr(0, eq);
      if (Result<void> r = check_env_name(key, "docker_args -e"); !r) return r;
      if (eq != std::string::npos) {
        out.secret_env.erase(key);
        out.env[key] = value.substr(eq + 1);
      } else if (std::optional<std::string> v = host_env(key)) {
        out.env.erase(key);
        out.secret_env[key] = *v;
      }
      return {};
    }
    case Flag::volume: {
      Result<Mount> m = parse_volume(value);
      if (!m) return fail(m.error());
      out.mounts.push_back(std::move(*m));
      return {};
    }
    case Flag::memory: {
      Result<int64_t> bytes = parse_memory(value);
      if (!bytes) return fail(bytes.error());
      if (*bytes < kMinMemory) {
        return fail(Errc::invalid_argument,
                    "docker_args: --memory " + value + " is below Docker's minimum of 6m");
      }
      out.memory_bytes = *bytes;
      return {};
    }
    case Flag::cpus: {
      Result<int64_t> nanos = parse_cpus(value);
      if (!nanos) return fail(nanos.error());
      out.nano_cpus = *nanos;
      return {};
    }
    case Flag::pids_limit: {
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || n < -1) {
        return fail(Errc::invalid_argument, "docker_args: --pids-limit " + value +
                                                ": expected a whole number (-1 or 0: unlimited)");
      }
      out.pids_limit = n <= 0 ? 0 : n;
      return {};
    }
    case Flag::user:
      if (!valid_user(value)) {
        return fail(Errc::invalid_argument,
                    "docker_args: --user " + value + ": expected USER or USER:GROUP");
      }
      out.user = value;
      return {};
    case Flag::workdir:
      if (!absolute(value) || has_nul(value)) {
        return fail(Errc::invalid_argument,
                    "docker_args: --workdir " + value + ": must be an absolute path");
      }
      out.working_dir = value;
      return {};
    case Flag::label: {
      const size_t eq = value.find('=');
      const std::string key = value.substr(0, eq);
      if (key.empty() || has_nul(value)) {
        return fail(Errc::invalid_argument,
                    "docker_args: --label " + value + ": expected KEY=VALUE");
      }
      if (key.starts_with("dev.para.")) {
        return fail(Errc::invalid_argument,
                    "docker_args: --label " + key + ": labels under dev.para. are para's own");
      }
      out.labels[key] = eq == std::string::npos ? "" : value.substr(eq + 1);
      return {};
    }
    case Flag::network:
      if (!valid_object_name(value) && value != "none" && value != "host") {
        return fail(Errc::invalid_argument,
                    "docker_args: --network " + value + ": not a valid network name");
      }
      out.network = value;
      return {};
    case Flag::cap_add: {
      Result<std::string> cap = parse_capability(value, "--cap-add");
      if (!cap) return fail(cap.error());
      out.cap_add.push_back(*cap);
      return {};
    }
    case Flag::cap_drop: {
      Result<std::string> cap = parse_capability(value, "--cap-drop");
      if (!cap) return fail(cap.error());
      out.cap_drop.push_back(*cap);
      return {};
    }
  }
  return {};
}

}  // namespace

Result<DockerArgs> parse_docker_args(const std::vector<std::string>& args,
                                     const EnvLookup& host_env) {
  DockerArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const FlagDef* def = nullptr;
    std::optional<std::string> value;
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      const std::string_view name =
          std::string_view(arg).substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      for (const FlagDef& f : kFlags) {
        if (f.long_name == name) def = &f;
      }
      if (eq != std::string::npos) value = arg.substr(eq + 1);
    } else if (arg.size() >= 2 && arg[0] == '-') {
      for (const FlagDef& f : kFlags) {
        if (f.short_name != 0 && f.short_name == arg[1]) def = &f;
      }
      if (arg.size() > 2) value = arg.substr(2);
    }
    if (def == nullptr) return fail(unsupported(arg));
    if (!value) {
      if (i + 1 >= args.size()) {
        return fail(Errc::invalid_argument, "docker_args: " + arg + " needs a value");
      }
      value = args[++i];
    }
    if (Result<void> r = apply_flag(def->flag, *value, host_env, out); !r) return fail(r.error());
  }
  return out;
}

void apply_docker_args(const DockerArgs& args, ContainerSpec& spec) {
  for (const auto& [k, v] : args.env) {
    spec.secret_env.erase(k);
    spec.env[k] = v;
  }
  for (const auto& [k, v] : args.secret_env) {
    spec.env.erase(k);
    spec.secret_env[k] = v;
  }
  for (const auto& [k, v] : args.labels) spec.labels[k] = v;
  spec.mounts.insert(spec.mounts.end(), args.mounts.begin(), args.mounts.end());
  if (args.memory_bytes) spec.memory_bytes = *args.memory_bytes;
  if (args.nano_cpus) spec.nano_cpus = *args.nano_cpus;
  if (args.pids_limit) spec.pids_limit = *args.pids_limit;
  if (args.user) spec.user = *args.user;
  if (args.working_dir) spec.working_dir = *args.working_dir;
  if (args.network) spec.network_mode = *args.network;
  spec.cap_add.insert(spec.cap_add.end(), args.cap_add.begin(), args.cap_add.end());
  spec.cap_drop.insert(spec.cap_drop.end(), args.cap_drop.begin(), args.cap_drop.end());
}

std::vector<std::string> docker_args_for_display(const std::vector<std::string>& args) {
  auto hide = [](const std::string& assignment) {
    const size_t eq = assignment.find('=');
    return eq == std::string::npos ? assignment
                                   : assignment.substr(0, eq + 1) + std::string(kRedacted);
  };
  std::vector<std::string> out;
  bool value_next = false;
  for (const std::string& a : args) {
    if (value_next) {
      out.push_back(hide(a));
      value_next = false;
    } else if (a == "-e" || a == "--env") {
      out.push_back(a);
      value_next = true;
    } else if (a.rfind("--env=", 0) == 0) {
      out.push_back("--env=" + hide(a.substr(6)));
    } else if (a.size() > 2 && a.rfind("-e", 0) == 0) {
      out.push_back("-e" + hide(a.substr(2)));
    } else {
      out.push_back(a);
    }
  }
  return out;
}

std::vector<std::string> isolation_weakenings(const DockerArgs& args) {
  std::vector<std::string> out;
  if (args.network && *args.network != "none") {
    out.push_back("--network " + *args.network + " gives the container a network");
  }
  for (const std::string& cap : args.cap_add) {
    out.push_back("--cap-add " + cap + " grants a capability");
  }
  for (const Mount& m : args.mounts) {
    if (m.type == Mount::Type::bind) out.push_back("-v " + m.source + " mounts a host path");
    if (m.type == Mount::Type::volume) {
      out.push_back("-v " + m.source +
                    " mounts a Docker volume (it may hold, or be bound to, the host's files)");
    }
  }
  for (const auto& [key, value] : args.secret_env) {
    out.push_back("-e " + key +
                  " copies a variable from para's environment (docker.forward_env_keys decides "
                  "which reach containers)");
  }
  return out;
}

std::vector<std::string> limit_raises(const DockerArgs& args, const ContainerSpec& limits) {
  std::vector<std::string> out;
  auto check = [&out](const std::optional<int64_t>& wanted, int64_t configured, const char* flag,
                      const char* what) {
    if (!wanted || configured == 0 || (*wanted != 0 && *wanted <= configured)) return;
    out.push_back(std::string(flag) + (*wanted == 0 ? " removes" : " raises") + " the configured " +
                  what + " limit");
  };
  check(args.memory_bytes, limits.memory_bytes, "--memory", "memory");
  check(args.nano_cpus, limits.nano_cpus, "--cpus", "CPU");
  check(args.pids_limit, limits.pids_limit, "--pids-limit", "process");
  return out;
}

}  // namespace para::docker
