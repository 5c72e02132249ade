// para docker ...: image builds and pulls with a progress bar, and what the
// Docker engine para talks to looks like.

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "docker/client.h"
#include "docker/images.h"
#include "docker/spec.h"

namespace para::cli {
namespace {

void write_err(const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Renders docker::Progress on stderr: on a terminal, step lines scroll above
// a bar that is redrawn in place; otherwise one plain line per step.
class ProgressView {
 public:
  ProgressView() {
    const char* term = std::getenv("TERM");
    tty_ = ::isatty(STDERR_FILENO) == 1 && !(term && std::string(term) == "dumb");
  }
  ~ProgressView() { done(); }

  void operator()(const docker::Progress& p) {
    if (p.fraction >= 0) fraction_ = p.fraction;
    if (!tty_) {
      if (p.step) write_err(percent_text() + " " + p.message + "\n");
      return;
    }
    std::string out = "\r\033[K";
    if (p.step)
      out += p.message + "\n";
    else
      last_detail_ = p.message;
    out += bar(p.step ? p.message : last_detail_);
    write_err(out);
    drawn_ = true;
  }

  void done() {
    if (tty_ && drawn_) write_err("\r\033[K");
    drawn_ = false;
  }

 private:
  std::string percent_text() const {
    if (fraction_ < 0) return "[    ]";
    const int pct = static_cast<int>(std::floor(fraction_ * 100));
    std::string n = std::to_string(pct);
    return "[" + std::string(3 - std::min<size_t>(3, n.size()), ' ') + n + "%]";
  }

  std::string bar(const std::string& message) const {
    winsize ws{};
    const int width =
        ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    constexpr int kCells = 30;
    const int filled = fraction_ < 0 ? 0 : static_cast<int>(std::lround(fraction_ * kCells));
    std::string out = "[" + std::string(static_cast<size_t>(filled), '#') +
                      std::string(static_cast<size_t>(kCells - filled), '-') + "] " +
                      percent_text().substr(1, 4) + " ";
    const int room = width - static_cast<int>(out.size()) - 1;
    if (room > 3) {
      out += message.size() > static_cast<size_t>(room) ? message.substr(0, room - 3) + "..."
                                                        : message;
    }
    return out;
  }

  bool tty_ = false;
  bool drawn_ = false;
  double fraction_ = -1;
  std::string last_detail_;
};

Result<docker::Client> connect() {
  return docker::Client::from_env();
}

// Runs operation(progress_fn) with a ProgressView that is cleared afterwards.
template <class T, class Operation>
Result<T> with_progress(Operation&& operation) {
  ProgressView view;
  Result<T> r = operation([&](const docker::Progress& p) { view(p); });
  view.done();
  return r;
}

int build_image(const Args& args) {
  docker::BuildOptions options;
  options.context_dir = args.positional(0).value_or(".");
  options.tag = args.value("tag").value_or(docker::kDefaultImage);
  options.no_cache = args.flag("no-cache");
  for (const std::string& add : args.values("add-file")) {
    const size_t colon = add.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == add.size()) {
      report_error(fail(Errc::invalid_argument,
                        "--add-file " + add + ": expected HOST_PATH:NAME_IN_CONTEXT"),
                   args.json());
      return kExitUsage;
    }
    options.extra_files.emplace_back(add.substr(0, colon), add.substr(colon + 1));
  }
  Result<docker::Client> client = connect();
  if (!client) return report_error(client.error(), args.json());
  Result<docker::BuildResult> built =
      with_progress<docker::BuildResult>([&](const docker::ProgressFn& progress) {
        return docker::build_image(*client, options, progress);
      });
  if (!built) {
    Error e = built.error();
    if (e.code == Errc::not_found && !args.positional(0)) {
      e.message +=
          " (para's default image: para docker build-image examples/agent-image "
          "--add-file /bin/busybox:busybox)";
    }
    return report_error(e, args.json());
  }
  if (args.json()) {
    print_json({{"image_id", built->image_id}, {"tag", built->tag}});
  } else {
    print("Built " + built->tag + " (" + built->image_id + ")\n");
  }
  return kExitOk;
}

int pull(const Args& args) {
  const std::string reference = docker::normalize_image_reference(*args.positional(0));
  Result<docker::Client> client = connect();
  if (!client) return report_error(client.error(), args.json());
  Result<std::string> id = with_progress<std::string>([&](const docker::ProgressFn& progress) {
    return docker::pull_image(*client, reference, progress);
  });
  if (!id) return report_error(id.error(), args.json());
  if (args.json()) {
    print_json({{"image_id", *id}, {"reference", reference}});
  } else {
    print("Pulled " + reference + " (" + *id + ")\n");
  }
  return kExitOk;
}

int info(const Args& args) {
  Result<docker::Client> client = connect();
  if (!client) return report_error(client.error(), args.json());
  Result<docker::EngineVersion> version = docker::engine_version(*client);
  if (!version) return report_error(version.error(), args.json());
  const std::string server = version->version;
  Result<bool> has_default = docker::image_exists(*client, docker::kDefaultImage);
  if (!has_default) return report_error(has_default.error(), args.json());
  const docker::Endpoint& ep = client->endpoint();
  if (args.json()) {
    print_json({{"endpoint", ep.display()},
                {"tls", ep.tls},
                {"tls_verify", ep.tls_verify},
                {"remote", ep.remote()},
                {"server_version", server},
                {"api_version", client->api_version()},
                {"daemon_api_version", client->daemon_api_version()},
                {"default_image", docker::kDefaultImage},
                {"default_image_present", *has_default}});
    return kExitOk;
  }
  std::string out = "Endpoint:       " + ep.display() +
                    (ep.kind == docker::Endpoint::Kind::tcp
                         ? (ep.tls ? (ep.tls_verify ? " (TLS, verified)" : " (TLS, not verified)")
                                   : " (plain TCP, insecure)")
                         : "") +
                    "\nDocker:         " + server + "\nAPI version:    " + client->api_version() +
                    " (daemon " + client->daemon_api_version() +
                    ")\nDefault image:  " + docker::kDefaultImage +
                    (*has_default ? " (present)" : " (missing: para docker build-image)") + "\n";
  print(out);
  return kExitOk;
}

}  // namespace

std::vector<Command> docker_commands() {
  const Option json_option{"json", 0, "", "Print the result as JSON on stdout"};
  return {
      {{.path = {"docker", "build-image"},
        .summary = "Build a container image (para's default: para-agent:latest)",
        .positionals = "[DIR]",
        .min_positionals = 0,
        .max_positionals = 1,
        .options = {{"tag", 't', "TAG", "Image name and tag (default: para-agent:latest)"},
                    {"add-file", 0, "HOST_PATH:NAME",
                     "Add a host file to the build context under NAME (repeatable)", true},
                    {"no-cache", 0, "", "Build every step again"},
                    json_option},
        .details =
            "Builds DIR (default: the current directory, which must hold a Dockerfile)\n"
            "through the Docker Engine API, with a progress bar on a terminal.\n"
            "para's default image, offline, from the source tree:\n"
            "  para docker build-image examples/agent-image --add-file /bin/busybox:busybox\n"
            ".dockerignore is not applied: the whole directory is the context."},
       build_image},
      {{.path = {"docker", "pull"},
        .summary = "Pull a container image from its registry",
        .positionals = "IMAGE",
        .min_positionals = 1,
        .max_positionals = 1,
        .options = {json_option}},
       pull},
      {{.path = {"docker", "info"},
        .summary = "Show the Docker engine para uses (DOCKER_HOST) and its API version",
        .options = {json_option}},
       info},
  };
}

}  // namespace para::cli
