#include "sandbox/sbpl.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

// Theory of operation. The profile is written so that its meaning does not
// depend on how sandbox-exec orders rules: every allow for writes and reads
// already excludes (require-not) what a later deny forbids, and the denies
// are repeated after it. Under "last match wins" the deny decides, under
// "first match wins" the allow never matched; the tests check both.
//
// Sections: defaults, processes, reads, writes, devices, system services
// (sysctl, mach, IPC: each with the tool that needs it), network by mode.
// tests/sandbox/golden/README.md explains each rule and the threat it answers.

namespace para::sandbox {
namespace {

constexpr size_t kMaxLiteral = 1024;

// Builds the text; every literal goes through sbpl_quote, so a failure here
// is a bug in a constant, reported rather than rendered.
class Writer {
 public:
  void line(const std::string& s) { text_ += s + "\n"; }
  void blank() { text_ += "\n"; }
  void comment(const std::string& s) { text_ += ";; " + s + "\n"; }
  std::string q(std::string_view literal) {
    Result<std::string> r = sbpl_quote(literal);
    if (!r) {
      if (!error_) error_ = r.error();
      return "\"\"";
    }
    return *r;
  }
  std::string param(const std::string& name, const std::string& value) {
    params_.push_back({name, value});
    return "(param " + q(name) + ")";
  }
  std::string text_;
  std::vector<SbplParam> params_;
  std::optional<Error> error_;
};

// The regex that matches a protected name at any depth of an absolute path.
std::string name_regex(const std::string& name) {
  std::string escaped;
  for (char c : name) {
    if (c == '.' || c == '+' || c == '(' || c == ')' || c == '[' || c == ']' || c == '*' ||
        c == '?' || c == '^' || c == '$' || c == '|' || c == '{' || c == '}') {
      escaped += '\\';
    }
    escaped += c;
  }
  return "^/(.*/)?" + escaped + "(/.*)?$";
}

struct Filters {
  std::vector<std::string> writable;   // (subpath ...) / (literal ...)
  std::vector<std::string> protect;    // (subpath ...)
  std::vector<std::string> names;      // (regex ...)
  std::vector<std::string> deny_read;  // (subpath ...)
};

std::string joined(const std::vector<std::string>& items, const std::string& indent) {
  std::string out;
  for (const std::string& s : items) out += "\n" + indent + s;
  return out;
}

std::string require_not_all(const std::vector<std::string>& items, const std::string& indent) {
  std::string out;
  for (const std::string& s : items) out += "\n" + indent + "(require-not " + s + ")";
  return out;
}

void processes(Writer& w) {
  w.comment("Processes: tools start tools; they see and signal only this sandbox's processes.");
  w.line("(allow process-exec)");
  w.line("(allow process-fork)");
  w.line("(allow process-info* (target same-sandbox))");
  w.line("(allow signal (target same-sandbox))");
  w.blank();
}

void reads(Writer& w, const Filters& f) {
  w.comment("Reads: the whole filesystem except the read-denied credential stores.");
  if (f.deny_read.empty()) {
    w.line("(allow file-read*)");
  } else {
    w.line("(allow file-read*\n  (require-all" + require_not_all(f.deny_read, "    ") + "))");
    w.line("(deny file-read*" + joined(f.deny_read, "  ") + ")");
  }
  w.blank();
}

void writes(Writer& w, const Filters& f) {
  w.comment("Writes: only inside the writable roots, never to a protected path or name,");
  w.comment("never to a read-denied path (so a secret cannot be moved out of its store).");
  std::vector<std::string> excluded = f.protect;
  excluded.insert(excluded.end(), f.names.begin(), f.names.end());
  excluded.insert(excluded.end(), f.deny_read.begin(), f.deny_read.end());
  w.line("(allow file-write*\n  (require-all\n    (require-any" + joined(f.writable, "      ") +
         ")" + require_not_all(excluded, "    ") + "))");
  w.line("(deny file-write*" + joined(excluded, "  ") + ")");
  w.blank();
}

void devices(Writer& w) {
  w.comment("Devices: the null and random devices, the terminal, and new pseudo-terminals");
  w.comment("(interactive shells, node-pty); /dev/dtracehelper for node's and Go's probes.");
  std::vector<std::string> dev;
  for (const char* p : {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/tty",
                        "/dev/ptmx", "/dev/dtracehelper", "/dev/stdout", "/dev/stderr"}) {
    dev.push_back("(literal " + w.q(p) + ")");
  }
  dev.push_back("(regex " + w.q("^/dev/ttys[0-9]+$") + ")");
  dev.push_back("(regex " + w.q("^/dev/fd/[0-9]+$") + ")");
  w.line("(allow file-write-data file-ioctl" + joined(dev, "  ") + ")");
  w.line("(allow pseudo-tty)");
  w.blank();
}

void sysctls(Writer& w) {
  w.comment("sysctl reads, no writes. CPU and memory topology: node (os.cpus, os.totalmem),");
  w.comment("V8, the Go runtime, make -j, compilers. Kernel identity: uname, Go's TLS");
  w.comment("verifier and Claude Code read the OS version. kern.proc.pid.: ps of own processes.");
  std::vector<std::string> names;
  for (const char* n : {"hw.activecpu",
                        "hw.busfrequency_compat",
                        "hw.byteorder",
                        "hw.cacheconfig",
                        "hw.cachelinesize_compat",
                        "hw.cpufamily",
                        "hw.cpufrequency",
                        "hw.cpufrequency_compat",
                        "hw.cputype",
                        "hw.cpusubtype",
                        "hw.l1dcachesize_compat",
                        "hw.l1icachesize_compat",
                        "hw.l2cachesize_compat",
                        "hw.l3cachesize_compat",
                        "hw.logicalcpu",
                        "hw.logicalcpu_max",
                        "hw.machine",
                        "hw.memsize",
                        "hw.model",
                        "hw.ncpu",
                        "hw.nperflevels",
                        "hw.pagesize",
                        "hw.pagesize_compat",
                        "hw.physicalcpu",
                        "hw.physicalcpu_max",
                        "hw.tbfrequency_compat",
                        "kern.argmax",
                        "kern.boottime",
                        "kern.hostname",
                        "kern.maxfiles",
                        "kern.maxfilesperproc",
                        "kern.ngroups",
                        "kern.osproductversion",
                        "kern.osrelease",
                        "kern.osrevision",
                        "kern.ostype",
                        "kern.osversion",
                        "kern.secure_kernel",
                        "kern.usrstack64",
                        "kern.version",
                        "machdep.cpu.brand_string",
                        "sysctl.proc_cputype",
                        "sysctl.proc_translated"}) {
    names.push_back("(sysctl-name " + w.q(n) + ")");
  }
  for (const char* prefix : {"hw.optional.", "hw.perflevel", "kern.proc.pid."}) {
    names.push_back("(sysctl-name-prefix " + w.q(prefix) + ")");
  }
  w.line("(allow sysctl-read" + joined(names, "  ") + ")");
  w.blank();
}

void services(Writer& w, NetworkMode mode) {
  w.comment("Mach services, each for a named need. Not LaunchServices or Apple events");
  w.comment("(`open` would start programs outside the sandbox), not SecurityServer (the");
  w.comment("keychain holds credentials), not sysmond (it describes every host process).");
  struct Service {
    const char* name;
    const char* why;
  };
  std::vector<Service> list = {
      {"com.apple.system.opendirectoryd.libinfo", "getpwuid/getgrgid: git, node os.userInfo"},
      {"com.apple.system.opendirectoryd.membership", "group membership checks"},
      {"com.apple.system.logger", "syslog(3) from system libraries"},
      {"com.apple.logd", "os_log from system libraries"},
      {"com.apple.system.notification_center", "notify(3): libc time zone updates"},
      {"com.apple.bsd.dirhelper", "confstr(_CS_DARWIN_USER_TEMP_DIR)"},
      {"com.apple.cfprefsd.daemon", "CFPreferences reads (user-preference-read)"},
      {"com.apple.cfprefsd.agent", "CFPreferences reads (user-preference-read)"},
      {"com.apple.trustd.agent",
       "TLS certificate checks: Go's crypto/x509, curl and git (Secure Transport)"},
      {"com.apple.PowerManagement.control", "power assertions taken by build tools"},
  };
  if (mode == NetworkMode::open) {
    list.push_back({"com.apple.SystemConfiguration.DNSConfiguration", "DNS resolver settings"});
    list.push_back({"com.apple.SystemConfiguration.configd", "network configuration reads"});
    list.push_back({"com.apple.dnssd.service", "DNS resolution (mDNSResponder)"});
  }
  for (const Service& s : list) {
    w.line("(allow mach-lookup (global-name " + w.q(s.name) + ")) ; " + s.why);
  }
  w.line("(allow user-preference-read) ; CFPreferences: git and node read locale settings");
  w.line("(allow ipc-posix-sem) ; named semaphores: Python multiprocessing locks");
  w.line(
      "(allow ipc-posix-shm-read* ipc-posix-shm-write-create ipc-posix-shm-write-data "
      "ipc-posix-shm-write-unlink\n  (ipc-posix-name-regex " +
      w.q("^/(psm_|__KMP_REGISTERED_LIB_)[A-Za-z0-9_]+$") +
      ")) ; Python shared_memory, libomp; not other programs' segments");
  w.line(
      "(allow system-socket (require-all (socket-domain AF_SYSTEM) (socket-protocol 2)))"
      " ; interface list for getifaddrs (node os.networkInterfaces)");
  w.blank();
}

void network(Writer& w, const Policy& p) {
  switch (p.network) {
    case NetworkMode::open:
      w.comment("Network (standard): IP in and out, binding on loopback only. No Unix");
      w.comment("sockets except the DNS resolver's: docker.sock, ssh-agent and D-Bus stay closed.");
      w.line("(allow network-outbound (remote ip " + w.q("*:*") + "))");
      w.line("(allow network-inbound (local ip " + w.q("localhost:*") + "))");
      w.line("(allow network-bind (local ip " + w.q("localhost:*") + "))");
      w.line("(allow network-outbound (literal " + w.q("/private/var/run/mDNSResponder") + "))");
      break;
    case NetworkMode::proxied:
      w.comment("Network (standard-proxied): out only to the session proxy on loopback (its port");
      w.comment(
          "is a parameter); local servers may listen on loopback; no DNS: the proxy resolves");
      w.comment("names. No Unix sockets.");
      w.line("(allow network-outbound (remote tcp (string-append " + w.q("localhost:") + " " +
             w.param("PROXY_PORT", std::to_string(p.proxy_port)) + ")))");
      w.line("(allow network-inbound (local ip " + w.q("localhost:*") + "))");
      w.line("(allow network-bind (local ip " + w.q("localhost:*") + "))");
      break;
    case NetworkMode::none:
      w.comment("Network (none): nothing.");
      break;
  }
}

}  // namespace

Result<std::string> sbpl_quote(std::string_view text) {
  if (text.size() > kMaxLiteral) {
    return fail(Errc::invalid_argument, "SBPL literal of " + std::to_string(text.size()) +
                                            " bytes is longer than " + std::to_string(kMaxLiteral));
  }
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == 0) return fail(Errc::invalid_argument, "SBPL literal contains a NUL byte");
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_argument,
                  "SBPL literal contains a control character (byte " + std::to_string(c) + ")");
    }
    if (c >= 0x80) {
      return fail(Errc::invalid_argument,
                  "SBPL literal contains a non-ASCII byte; pass such text as a parameter");
    }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

Result<SbplProfile> render_sbpl_profile(const Policy& p) {
  Writer w;
  Filters f;
  int i = 0;
  for (const PathRule& r : p.writable) {
    const char* filter = r.kind == PathKind::file ? "literal" : "subpath";
    f.writable.push_back(std::string("(") + filter + " " +
                         w.param("WRITABLE_" + std::to_string(i++), r.path) + ")");
  }
  if (p.git) {
    const SessionGit& g = *p.git;
    f.writable.push_back("(literal " + w.param("SESSION_REF", g.ref_file) + ")");
    f.writable.push_back("(literal " + w.param("SESSION_REF_LOCK", g.ref_file + ".lock") + ")");
    f.writable.push_back("(literal " + w.param("SESSION_REFLOG", g.reflog_file) + ")");
    // macOS has no private store to bind (SessionGit::objects): git writes
    // its objects into the repository's (docs/sandboxing.md, limits).
    f.writable.push_back("(subpath " + w.param("GIT_OBJECTS", g.common_dir + "/objects") + ")");
  }
  i = 0;
  for (const std::vector<PathRule>* list : {&p.protect, &p.protect_missing, &p.hidden}) {
    for (const PathRule& r : *list) {
      // Seatbelt cannot give an empty directory: one hidden inside a
      // writable root (Claude Code's shell snapshots) is read-only instead.
      if (list == &p.hidden &&
          std::none_of(p.writable.begin(), p.writable.end(), [&](const PathRule& root) {
            return root.path != r.path && path_within(r.path, root.path);
          })) {
        continue;
      }
      f.protect.push_back("(subpath " + w.param("PROTECT_" + std::to_string(i++), r.path) + ")");
    }
  }
  for (const std::string& name : p.protected_names) {
    f.names.push_back("(regex " + w.q(name_regex(name)) + ")");
  }
  i = 0;
  for (const PathRule& r : p.deny_read) {
    f.deny_read.push_back("(subpath " + w.param("DENY_READ_" + std::to_string(i++), r.path) + ")");
  }

  w.comment("para sandbox profile \"" + p.profile + "\", generated by para. Every path is a");
  w.comment("parameter (-D NAME=value); see tests/sandbox/golden/README.md for each rule.");
  w.line("(version 1)");
  w.line("(deny default)");
  w.blank();
  processes(w);
  reads(w, f);
  writes(w, f);
  devices(w);
  sysctls(w);
  services(w, p.network);
  network(w, p);
  if (w.error_) return fail(*w.error_);
  return SbplProfile{std::move(w.text_), std::move(w.params_)};
}

Result<std::string> render_sbpl(const Policy& policy) {
  Result<SbplProfile> r = render_sbpl_profile(policy);
  if (!r) return fail(r.error());
  return std::move(r->text);
}

Result<std::vector<std::string>> sandbox_exec_argv(const SbplProfile& profile,
                                                   const std::vector<std::string>& command,
                                                   ProfileSource source,
                                                   const std::string& profile_file) {
  if (command.empty()) return fail(Errc::invalid_argument, "no command to run in the sandbox");
  std::vector<std::string> argv = {kSandboxExec};
  for (const SbplParam& param : profile.params) {
    const bool name_ok =
        !param.name.empty() && std::all_of(param.name.begin(), param.name.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
    if (!name_ok) {
      return fail(Errc::invalid_argument, "invalid SBPL parameter name '" + param.name + "'");
    }
    if (param.value.find('\0') != std::string::npos) {
      return fail(Errc::invalid_argument, "the value of " + param.name + " contains a NUL byte");
    }
    if (param.value.size() > kMaxLiteral) {
      return fail(Errc::invalid_argument, "the value of " + param.name + " is " +
                                              std::to_string(param.value.size()) +
                                              " bytes long; macOS paths are at most 1024 bytes");
    }
    argv.push_back("-D");
    argv.push_back(param.name + "=" + param.value);
  }
  if (source == ProfileSource::file) {
    if (profile_file.empty()) return fail(Errc::invalid_argument, "no profile file given");
    argv.insert(argv.end(), {"-f", profile_file});
  } else {
    argv.insert(argv.end(), {"-p", profile.text});
  }
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

Result<void> check_sandbox_exec(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return fail(Errc::unavailable,
                "the macOS sandbox needs " + path +
                    ", which is missing or not executable; para does not run agents "
                    "unsandboxed unless the user config sets sandbox.fail_open = true");
  }
  return {};
}

}  // namespace para::sandbox
