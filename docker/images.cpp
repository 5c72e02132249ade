#include "docker/images.h"

#include <sys/stat.h>

#include <cctype>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "docker/stream.h"
#include "docker/tar.h"

namespace para::docker {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Pulls and builds may be silent for minutes (a big layer, a long RUN).
constexpr std::chrono::milliseconds kSlowReadTimeout = std::chrono::minutes(30);

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Runs a JSON-lines stream through `on_line`; the first error wins.
Result<HttpResponse> stream_json_lines(const Client& client, const HttpRequest& request,
                                       const std::function<Result<void>(const json&)>& on_line) {
  std::optional<Error> line_error;
  LineSplitter lines([&](std::string_view line) {
    if (line.empty()) return true;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return true;  // not JSON: nothing to decode, keep going
    if (Result<void> r = on_line(j); !r) {
      line_error = r.error();
      return false;
    }
    return true;
  });
  Result<HttpResponse> r = client.stream(request, [&](std::string_view bytes) {
    Result<bool> fed = lines.feed(bytes);
    if (!fed) {
      line_error = fed.error();
      return false;
    }
    return *fed;
  });
  if (line_error) return fail(*line_error);
  if (r && r->ok() && !r->stopped) lines.finish();
  if (line_error) return fail(*line_error);
  return r;
}

}  // namespace

Result<void> check_image_reference(const std::string& reference) {
  auto refuse = [&](const std::string& why, bool show = true) {
    return fail(Errc::invalid_argument,
                (show ? "'" + reference + "'" : std::string("the image name")) +
                    " is not an image reference: " + why +
                    ". Give one like para-agent:latest or registry.example:5000/team/agent:1.2");
  };
  constexpr size_t kMaxLength = 512;
  if (reference.empty()) return refuse("it is empty", false);
  if (reference.size() > kMaxLength) {
    return refuse("it is longer than " + std::to_string(kMaxLength) + " characters", false);
  }
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (char c : reference) {
    if (!alnum(c) && std::string_view("._-/:@").find(c) == std::string_view::npos) {
      const bool printable = static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      return refuse(printable ? std::string("it contains '") + c + "'"
                              : "it contains a control or non-ASCII byte",
                    printable);
    }
  }
  const std::string name = reference.substr(0, reference.find('@'));
  const size_t slash = name.rfind('/');
  const size_t colon = name.rfind(':');
  const bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  const std::string path = tagged ? name.substr(0, colon) : name;
  size_t start = 0;
  for (size_t end; start <= path.size(); start = end + 1) {
    end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    // The first component may be a registry host with a port.
    const std::string part = path.substr(start, end - start);
    const size_t port_at = start == 0 ? part.find(':') : std::string::npos;
    const std::string host = part.substr(0, port_at);
    const std::string port = port_at == std::string::npos ? "1" : part.substr(port_at + 1);
    if (host.empty() || !alnum(host.front()) || !alnum(host.back()) || port.empty() ||
        port.find_first_not_of("0123456789") != std::string::npos) {
      return refuse("'" + part + "' is not a valid name component");
    }
  }
  if (tagged) {
    const std::string tag = name.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !(alnum(tag.front()) || tag.front() == '_') ||
        tag.find_first_of("/:@") != std::string::npos) {
      return refuse("the tag '" + tag + "' is not valid");
    }
  }
  return {};
}

std::string normalize_image_reference(const std::string& reference) {
  if (reference.find('@') != std::string::npos) return reference;
  const size_t slash = reference.rfind('/');
  const size_t colon = reference.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return reference;
  }
  return reference + ":latest";
}

Error missing_image_error(const std::string& reference, const Endpoint& endpoint) {
  return fail(Errc::not_found,
              "the image " + reference + " is not on the Docker engine at " + endpoint.display() +
                  ": build it with 'para docker build-image DIR --tag " + reference +
                  "' (examples/agent-image builds para's default image) or pull it with "
                  "'para docker pull " +
                  reference + "'");
}

Result<ImageInfo> inspect_image(const Client& client, const std::string& reference) {
  if (auto r = check_image_reference(reference); !r) return fail(r.error());
  HttpRequest req;
  req.path = "/images/" + reference + "/json";
  Result<HttpResponse> r = client.call(req);
  if (!r) return fail(r.error());
  if (r->status == 404) return fail(missing_image_error(reference, client.endpoint()));
  if (!r->ok()) return fail(Client::http_error("inspect image " + reference, *r));
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object()) {
    return fail(Errc::tool_failed, "inspect image " + reference + ": the answer is not JSON");
  }
  ImageInfo info;
  info.id = j.value("Id", "");
  if (auto tags = j.find("RepoTags"); tags != j.end() && tags->is_array()) {
    for (const json& t : *tags) {
      if (t.is_string()) info.tags.push_back(t.get<std::string>());
    }
  }
  if (auto cfg = j.find("Config"); cfg != j.end() && cfg->is_object()) {
    if (auto labels = cfg->find("Labels"); labels != cfg->end() && labels->is_object()) {
      for (const auto& [k, v] : labels->items()) {
        if (v.is_string()) info.labels[k] = v.get<std::string>();
      }
    }
  }
  if (auto size = j.find("Size"); size != j.end() && size->is_number_integer()) {
    info.size = size->get<int64_t>();
  }
  return info;
}

Result<bool> image_exists(const Client& client, const std::string& reference) {
  Result<ImageInfo> info = inspect_image(client, reference);
  if (info) return true;
  if (info.error().code == Errc::not_found) return false;
  return fail(info.error());
}

Result<std::string> pull_image(const Client& client, const std::string& reference,
                               const ProgressFn& progress) {
  if (auto r = check_image_reference(reference); !r) return fail(r.error());
  const std::string ref = normalize_image_reference(reference);
  HttpRequest req;
  req.method = "POST";
  req.path = "/images/create";
  req.query = {{"fromImage", ref}};
  req.read_timeout = kSlowReadTimeout;
  PullProgress aggregate;
  std::optional<std::string> stream_error;  // an error line in a 200 answer
  Result<HttpResponse> r = stream_json_lines(client, req, [&](const json& line) -> Result<void> {
    Result<std::optional<Progress>> p = aggregate.feed(line);
    if (!p) {
      stream_error = p.error().message;
      return fail(p.error());
    }
    if (*p && progress) progress(**p);
    return {};
  });
  const auto explain = [&](const std::string& daemon_message) {
    const bool unreachable = daemon_message.find("dial tcp") != std::string::npos ||
                             daemon_message.find("connection refused") != std::string::npos ||
                             daemon_message.find("no such host") != std::string::npos ||
                             daemon_message.find("i/o timeout") != std::string::npos ||
                             daemon_message.find("TLS handshake") != std::string::npos;
    if (unreachable) {
      return fail(Errc::unavailable,
                  "pull " + ref + " failed: the registry cannot be reached (" + daemon_message +
                      "). Check the image name and the network, or build the image locally "
                      "with 'para docker build-image DIR --tag " +
                      ref + "'");
    }
    const bool missing = daemon_message.find("not found") != std::string::npos ||
                         daemon_message.find("manifest unknown") != std::string::npos ||
                         daemon_message.find("pull access denied") != std::string::npos;
    return fail(missing ? Errc::not_found : Errc::tool_failed,
                "pull " + ref + " failed: " + daemon_message);
  };
  if (stream_error) return fail(explain(*stream_error));
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(explain(Client::daemon_message(*r)));
  Result<ImageInfo> info = inspect_image(client, ref);
  if (!info) return fail(info.error());
  if (progress) progress(Progress{1.0, "pulled " + ref, true});
  return info->id;
}

Result<BuildResult> build_image(const Client& client, const BuildOptions& options,
                                const ProgressFn& progress) {
  if (!is_dir(options.context_dir)) {
    return fail(Errc::not_found,
                "the build context " + options.context_dir + " is not a directory");
  }
  const std::string dockerfile = options.context_dir + "/" + options.dockerfile;
  bool dockerfile_added = false;
  for (const auto& [host, name] : options.extra_files) {
    if (name == options.dockerfile) dockerfile_added = true;
  }
  if (!dockerfile_added && !is_file(dockerfile)) {
    return fail(Errc::not_found, "there is no " + options.dockerfile + " in " +
                                     options.context_dir + " to build from");
  }
  HttpRequest req;
  req.method = "POST";
  req.path = "/build";
  req.query = {{"dockerfile", options.dockerfile}, {"rm", "1"}, {"forcerm", "1"}, {"version", "1"}};
  if (!options.tag.empty()) req.query.emplace_back("t", options.tag);
  for (const auto& [name, values] :
       {std::pair{"labels", &options.labels}, std::pair{"buildargs", &options.build_args}}) {
    if (values->empty()) continue;
    Result<std::string> text = json_text(json(*values), "image build " + options.tag);
    if (!text) return fail(text.error());
    req.query.emplace_back(name, std::move(*text));
  }
  if (options.no_cache) req.query.emplace_back("nocache", "1");
  req.content_type = "application/x-tar";
  req.read_timeout = kSlowReadTimeout;
  TarOptions tar;
  tar.extra_files = options.extra_files;
  // Ownership inside the context does not matter to COPY (it makes root own
  // files unless told otherwise), and numeric host ids would only leak.
  tar.uid = 0;
  tar.gid = 0;
  req.body_writer = [&](const BodyWrite& write) -> Result<void> {
    return write_tar(options.context_dir, tar, write);
  };

  BuildProgress decoder;
  log::debug("docker") << "building " << (options.tag.empty() ? "(untagged)" : options.tag)
                       << " from " << options.context_dir;
  Result<HttpResponse> r = stream_json_lines(client, req, [&](const json& line) -> Result<void> {
    Result<std::optional<Progress>> p = decoder.feed(line);
    if (!p) return fail(p.error());
    if (*p && progress) progress(**p);
    return {};
  });
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(Client::http_error("image build", *r));
  if (decoder.image_id().empty()) {
    return fail(Errc::tool_failed, "the image build ended without producing an image");
  }
  if (progress) progress(decoder.finished());
  BuildResult result;
  result.image_id = decoder.image_id();
  result.tag = options.tag;
  return result;
}

Result<void> remove_image(const Client& client, const std::string& reference, bool force) {
  HttpRequest req;
  req.method = "DELETE";
  req.path = "/images/" + reference;
  if (force) req.query = {{"force", "1"}};
  Result<HttpResponse> r = client.call_ok(req, "remove image " + reference);
  if (!r) return fail(r.error());
  return {};
}

}  // namespace para::docker
