#include "docker/containers.h"

#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/log.h"
#include "docker/images.h"
#include "docker/redact.h"

namespace para::docker {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Follow streams (logs, wait, exec output) may be silent for as long as the
// agent thinks; "no limit" is a month of silence.
constexpr std::chrono::milliseconds kNoLimit = std::chrono::hours(24 * 30);

Result<json> parse_json(const HttpResponse& r, const std::string& what) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return fail(Errc::tool_failed, what + ": the answer is not JSON");
  return j;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> labels_of(const json& j) {
  std::map<std::string, std::string> out;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

std::string strip_slash(std::string name) {
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return name;
}

std::string mib(int64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

Result<std::string> create_container(const Client& client, const ContainerSpec& spec) {
  Result<json> body = create_body(spec);
  if (!body) return fail(body.error());
  HttpRequest req;
  req.method = "POST";
  req.path = "/containers/create";
  if (!spec.name.empty()) req.query = {{"name", spec.name}};
  Result<std::string> text = json_text(*body, "create container " + spec.name);
  if (!text) return fail(text.error());
  req.body = std::move(*text);
  req.secrets = secret_values(spec);
  const std::string what = "create container " + (spec.name.empty() ? spec.image : spec.name);
  Result<HttpResponse> r = client.call(req);
  if (!r) return fail(r.error());
  if (r->status == 404) {
    const std::string message = Client::daemon_message(*r);
    if (message.find("No such image") != std::string::npos) {
      return fail(missing_image_error(spec.image, client.endpoint()));
    }
  }
  if (r->status == 409) {
    return fail(Errc::conflict, redact(what + " failed: a container named " + spec.name +
                                           " already exists (" + Client::daemon_message(*r) + ")",
                                       req.secrets));
  }
  if (!r->ok()) return fail(Client::http_error(what, *r, req.secrets));
  Result<json> j = parse_json(*r, what);
  if (!j) return fail(j.error());
  const std::string id = str(*j, "Id");
  if (id.empty()) return fail(Errc::tool_failed, what + ": the daemon returned no id");
  if (auto w = j->find("Warnings"); w != j->end() && w->is_array()) {
    for (const json& warning : *w) {
      if (warning.is_string()) {
        log::warn("docker") << redact(warning.get<std::string>(), req.secrets);
      }
    }
  }
  log::debug("docker") << "created " << spec.name << " " << id.substr(0, 12) << " from "
                       << spec.image;
  return id;
}

Result<void> start_container(const Client& client, const std::string& id) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/containers/" + id + "/start";
  Result<HttpResponse> r = client.call(req);
  if (!r) return fail(r.error());
  if (r->status == 304) return {};  // already running
  if (!r->ok()) return fail(Client::http_error("start container " + id.substr(0, 12), *r));
  return {};
}

Result<ContainerState> inspect_container(const Client& client, const std::string& id) {
  HttpRequest req;
  req.path = "/containers/" + id + "/json";
  Result<HttpResponse> r = client.call_ok(req, "inspect container " + id);
  if (!r) return fail(r.error());
  Result<json> j = parse_json(*r, "inspect container " + id);
  if (!j) return fail(j.error());
  ContainerState s;
  s.id = str(*j, "Id");
  s.name = strip_slash(str(*j, "Name"));
  if (auto cfg = j->find("Config"); cfg != j->end() && cfg->is_object()) {
    s.image = str(*cfg, "Image");
    if (auto labels = cfg->find("Labels"); labels != cfg->end()) s.labels = labels_of(*labels);
  }
  if (auto st = j->find("State"); st != j->end() && st->is_object()) {
    s.status = str(*st, "Status");
    s.running = st->value("Running", false);
    s.exit_code = st->value("ExitCode", 0);
    s.oom_killed = st->value("OOMKilled", false);
    s.pid = st->value("Pid", 0);
    s.error = str(*st, "Error");
    s.started_at = str(*st, "StartedAt");
    s.finished_at = str(*st, "FinishedAt");
  }
  if (auto host = j->find("HostConfig"); host != j->end()) s.host_config = *host;
  return s;
}

Result<ContainerExit> wait_container(const Client& client, const std::string& id,
                                     std::optional<std::chrono::milliseconds> timeout) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/containers/" + id + "/wait";
  req.query = {{"condition", "not-running"}};
  req.read_timeout = timeout.value_or(kNoLimit);
  Result<HttpResponse> r = client.call(req);
  if (!r) {
    if (r.error().code == Errc::tool_failed && timeout) {
      return fail(Errc::timeout, "container " + id.substr(0, 12) + " still runs after " +
                                     std::to_string(timeout->count()) + " ms");
    }
    return fail(r.error());
  }
  if (!r->ok()) return fail(Client::http_error("wait for container " + id.substr(0, 12), *r));
  Result<json> j = parse_json(*r, "wait for container " + id);
  if (!j) return fail(j.error());
  ContainerExit exit;
  exit.exit_code = j->value("StatusCode", 0);
  if (auto e = j->find("Error"); e != j->end() && e->is_object()) exit.error = str(*e, "Message");
  // OOMKilled is only in the inspect answer.
  Result<ContainerState> state = inspect_container(client, id);
  if (state) exit.oom_killed = state->oom_killed;
  return exit;
}

Result<void> stop_container(const Client& client, const std::string& id,
                            std::chrono::seconds grace) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/containers/" + id + "/stop";
  req.query = {{"t", std::to_string(grace.count())}};
  req.read_timeout = grace + 30s;
  Result<HttpResponse> r = client.call(req);
  if (!r) return fail(r.error());
  if (r->status == 304) return {};  // already stopped
  if (!r->ok()) return fail(Client::http_error("stop container " + id.substr(0, 12), *r));
  return {};
}

Result<void> kill_container(const Client& client, const std::string& id,
                            const std::string& signal) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/containers/" + id + "/kill";
  req.query = {{"signal", signal}};
  Result<HttpResponse> r = client.call_ok(req, "kill container " + id.substr(0, 12));
  if (!r) return fail(r.error());
  return {};
}

Result<void> remove_container(const Client& client, const std::string& id, bool force) {
  HttpRequest req;
  req.method = "DELETE";
  req.path = "/containers/" + id;
  req.query = {{"v", "1"}};
  if (force) req.query.emplace_back("force", "1");
  req.read_timeout = 60s;
  Result<HttpResponse> r = client.call_ok(req, "remove container " + id.substr(0, 12));
  if (!r) return fail(r.error());
  return {};
}

Result<std::vector<ContainerSummary>> list_containers(
    const Client& client, const std::map<std::string, std::string>& labels) {
  json label_filter = json::array();
  for (const auto& [k, v] : labels) label_filter.push_back(v.empty() ? k : k + "=" + v);
  HttpRequest req;
  req.path = "/containers/json";
  req.query = {{"all", "1"}};
  if (!label_filter.empty()) {
    Result<std::string> filters = json_text(json{{"label", label_filter}}, "list containers");
    if (!filters) return fail(filters.error());
    req.query.emplace_back("filters", std::move(*filters));
  }
  Result<HttpResponse> r = client.call_ok(req, "list containers");
  if (!r) return fail(r.error());
  Result<json> j = parse_json(*r, "list containers");
  if (!j) return fail(j.error());
  std::vector<ContainerSummary> out;
  if (!j->is_array()) return out;
  for (const json& c : *j) {
    ContainerSummary s;
    s.id = str(c, "Id");
    if (auto names = c.find("Names");
        names != c.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
      s.name = strip_slash((*names)[0].get<std::string>());
    }
    s.image = str(c, "Image");
    s.state = str(c, "State");
    if (auto l = c.find("Labels"); l != c.end()) s.labels = labels_of(*l);
    // The daemon filtered already; checking again costs nothing and keeps
    // cleanup label-based even if a filter were ever ignored.
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || (!v.empty() && it->second != v)) match = false;
    }
    if (match) out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<ContainerSummary>> list_para_containers(const Client& client,
                                                           const std::string& repo) {
  std::map<std::string, std::string> labels = {{kSessionLabel, ""}};
  if (!repo.empty()) labels[kRepoLabel] = repo;
  return list_containers(client, labels);
}

Result<std::vector<ContainerSummary>> remove_orphans(
    const Client& client, const std::string& repo,
    const std::function<bool(const ContainerSummary&)>& keep) {
  Result<std::vector<ContainerSummary>> all = list_para_containers(client, repo);
  if (!all) return fail(all.error());
  std::vector<ContainerSummary> removed;
  for (const ContainerSummary& c : *all) {
    if (keep && keep(c)) continue;
    Result<void> r = remove_container(client, c.id, true);
    if (!r && r.error().code != Errc::not_found) return fail(r.error());
    log::info("docker") << "removed orphaned container " << c.name << " (session "
                        << c.labels.at(kSessionLabel) << ")";
    removed.push_back(c);
  }
  return removed;
}

OutputFn fd_output(int fd) {
  return [fd](StreamKind, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  };
}

namespace {

// Streams a (possibly multiplexed) body into `output`.
Result<HttpResponse> stream_output(const Client& client, const HttpRequest& req, bool tty,
                                   const OutputFn& output) {
  std::optional<Error> decode_error;
  FrameDemuxer demux(output);
  Result<HttpResponse> r = client.stream(req, [&](std::string_view bytes) {
    if (tty) return output(StreamKind::stdout_stream, bytes);
    Result<bool> fed = demux.feed(bytes);
    if (!fed) {
      decode_error = fed.error();
      return false;
    }
    return *fed;
  });
  if (decode_error) return fail(*decode_error);
  if (r && r->ok() && !r->stopped && !tty) {
    if (Result<void> done = demux.finish(); !done) return fail(done.error());
  }
  return r;
}

}  // namespace

Result<void> follow_logs(const Client& client, const std::string& id, const OutputFn& output,
                         bool follow, bool tty) {
  HttpRequest req;
  req.path = "/containers/" + id + "/logs";
  req.query = {{"stdout", "1"}, {"stderr", "1"}, {"follow", follow ? "1" : "0"}};
  req.read_timeout = kNoLimit;
  Result<HttpResponse> r = stream_output(client, req, tty, output);
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(Client::http_error("logs of container " + id.substr(0, 12), *r));
  return {};
}

Result<int> exec(const Client& client, const std::string& id, const ExecSpec& spec,
                 const OutputFn& output) {
  if (spec.cmd.empty()) return fail(Errc::invalid_argument, "exec: the command is empty");
  std::vector<std::string> secrets;
  json env = json::array();
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  for (const auto& [k, v] : spec.secret_env) {
    env.push_back(k + "=" + v);
    if (!v.empty()) secrets.push_back(v);
  }
  json body = {{"AttachStdin", false}, {"AttachStdout", true}, {"AttachStderr", true},
               {"Tty", false},         {"Cmd", spec.cmd},      {"Env", env}};
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) body["User"] = spec.user;
  const std::string what = "exec " + spec.cmd[0] + " in container " + id.substr(0, 12);

  HttpRequest create;
  create.method = "POST";
  create.path = "/containers/" + id + "/exec";
  Result<std::string> body_text = json_text(body, what);
  if (!body_text) return fail(body_text.error());
  create.body = std::move(*body_text);
  create.secrets = secrets;
  Result<HttpResponse> created = client.call_ok(create, what);
  if (!created) return fail(created.error());
  Result<json> cj = parse_json(*created, what);
  if (!cj) return fail(cj.error());
  const std::string exec_id = str(*cj, "Id");
  if (exec_id.empty()) return fail(Errc::tool_failed, what + ": the daemon returned no id");

  // The daemon hijacks the connection and streams frames until the command ends.
  HttpRequest start;
  start.method = "POST";
  start.path = "/exec/" + exec_id + "/start";
  start.body = json{{"Detach", false}, {"Tty", false}}.dump();
  start.read_timeout = spec.timeout.value_or(kNoLimit);
  start.secrets = secrets;
  Result<HttpResponse> started = stream_output(client, start, false, output);
  if (!started) {
    if (spec.timeout && started.error().code == Errc::tool_failed) {
      return fail(Errc::timeout,
                  what + " printed nothing for " + std::to_string(spec.timeout->count()) + " ms");
    }
    return fail(started.error());
  }
  if (!started->ok()) return fail(Client::http_error(what, *started, secrets));

  // The exit code is recorded just after the stream closes.
  for (int attempt = 0; attempt < 250; ++attempt) {
    HttpRequest inspect;
    inspect.path = "/exec/" + exec_id + "/json";
    Result<HttpResponse> r = client.call_ok(inspect, what);
    if (!r) return fail(r.error());
    Result<json> j = parse_json(*r, what);
    if (!j) return fail(j.error());
    if (!j->value("Running", false)) {
      auto code = j->find("ExitCode");
      if (code != j->end() && code->is_number_integer()) return code->get<int>();
    }
    std::this_thread::sleep_for(20ms);
  }
  return fail(Errc::timeout, what + ": the daemon did not report an exit code");
}

Result<void> put_archive(const Client& client, const std::string& id,
                         const std::string& container_dir,
                         const std::function<Result<void>(const BodyWrite& write)>& writer) {
  HttpRequest req;
  req.method = "PUT";
  req.path = "/containers/" + id + "/archive";
  req.query = {{"path", container_dir}};
  req.content_type = "application/x-tar";
  req.body_writer = writer;
  req.read_timeout = 10min;
  Result<HttpResponse> r =
      client.call_ok(req, "copy into " + container_dir + " of container " + id.substr(0, 12));
  if (!r) return fail(r.error());
  return {};
}

Result<void> copy_into(const Client& client, const std::string& id, const std::string& host_dir,
                       const std::string& container_dir, const TarOptions& options) {
  return put_archive(client, id, container_dir,
                     [&](const BodyWrite& write) { return write_tar(host_dir, options, write); });
}

Result<void> get_archive(const Client& client, const std::string& id,
                         const std::string& container_path,
                         const std::function<Result<void>(std::string_view bytes)>& on_data) {
  HttpRequest req;
  req.path = "/containers/" + id + "/archive";
  req.query = {{"path", container_path}};
  req.read_timeout = 10min;
  std::optional<Error> sink_error;
  Result<HttpResponse> r = client.stream(req, [&](std::string_view bytes) {
    if (Result<void> w = on_data(bytes); !w) {
      sink_error = w.error();
      return false;
    }
    return true;
  });
  if (sink_error) return fail(*sink_error);
  if (!r) return fail(r.error());
  if (!r->ok()) {
    return fail(
        Client::http_error("copy " + container_path + " out of container " + id.substr(0, 12), *r));
  }
  return {};
}

Result<void> copy_out(const Client& client, const std::string& id,
                      const std::string& container_path, const std::string& host_dir,
                      ExtractOptions options) {
  TarExtractor extractor(host_dir, options);
  Result<void> r = get_archive(client, id, container_path,
                               [&](std::string_view bytes) { return extractor.feed(bytes); });
  if (!r) return r;
  return extractor.finish();
}

Result<ContainerStats> container_stats(const Client& client, const std::string& id) {
  HttpRequest req;
  req.path = "/containers/" + id + "/stats";
  req.query = {{"stream", "0"}};
  Result<HttpResponse> r = client.call_ok(req, "stats of container " + id.substr(0, 12));
  if (!r) return fail(r.error());
  Result<json> j = parse_json(*r, "stats");
  if (!j) return fail(j.error());
  ContainerStats s;
  const auto num = [](const json& obj, const char* key) -> int64_t {
    auto it = obj.find(key);
    return it != obj.end() && it->is_number() ? it->get<int64_t>() : 0;
  };
  if (auto p = j->find("pids_stats"); p != j->end() && p->is_object()) {
    s.pids_current = num(*p, "current");
    s.pids_limit = num(*p, "limit");
  }
  if (auto m = j->find("memory_stats"); m != j->end() && m->is_object()) {
    s.memory_usage = num(*m, "usage");
    s.memory_limit = num(*m, "limit");
  }
  return s;
}

std::string describe_exit(const ContainerExit& exit, const nlohmann::json& limits) {
  int64_t memory = 0;
  if (limits.is_object()) {
    auto m = limits.find("Memory");
    if (m != limits.end() && m->is_number_integer()) memory = m->get<int64_t>();
  }
  if (exit.oom_killed) {
    return "was killed by the out-of-memory killer" +
           (memory > 0 ? " (memory limit " + mib(memory) + ")" : std::string());
  }
  std::string text = "exited with code " + std::to_string(exit.exit_code);
  if (exit.exit_code > 128 && exit.exit_code < 160) {
    text += " (killed by signal " + std::to_string(exit.exit_code - 128) + ")";
  }
  if (!exit.error.empty()) text += ": " + exit.error;
  return text;
}

}  // namespace para::docker
