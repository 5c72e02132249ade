#include "docker/progress.h"

#include <algorithm>
#include <cmath>

namespace para::docker {
namespace {

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The error of a progress line: "error" or errorDetail.message.
std::optional<std::string> line_error(const nlohmann::json& line) {
  if (!line.is_object()) return std::nullopt;
  std::string message = string_field(line, "error");
  if (message.empty()) {
    auto detail = line.find("errorDetail");
    if (detail != line.end() && detail->is_object()) message = string_field(*detail, "message");
  }
  if (message.empty()) return std::nullopt;
  return message;
}

// current/total of a progressDetail, clamped to 0..1; nullopt when absent.
std::optional<double> detail_fraction(const nlohmann::json& line) {
  auto detail = line.find("progressDetail");
  if (detail == line.end() || !detail->is_object()) return std::nullopt;
  auto cur = detail->find("current"), total = detail->find("total");
  if (cur == detail->end() || total == detail->end() || !cur->is_number() || !total->is_number()) {
    return std::nullopt;
  }
  const double t = total->get<double>();
  if (!(t > 0)) return std::nullopt;
  return std::clamp(cur->get<double>() / t, 0.0, 1.0);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

}  // namespace

double PullProgress::fraction() const {
  if (done_) return 1.0;
  if (layers_.empty()) return -1;
  double sum = 0;
  for (const auto& [id, f] : layers_) sum += f;
  return sum / static_cast<double>(layers_.size());
}

Result<std::optional<Progress>> PullProgress::feed(const nlohmann::json& line) {
  if (std::optional<std::string> err = line_error(line)) return fail(Errc::tool_failed, *err);
  if (!line.is_object()) return std::optional<Progress>();
  const std::string status = string_field(line, "status");
  const std::string id = string_field(line, "id");
  if (status.empty()) return std::optional<Progress>();

  bool byte_level = false;
  if (status.starts_with("Status: ")) {
    done_ = true;
  } else if (!id.empty()) {
    // Layer states, in the order the daemon reports them.
    if (status == "Pulling fs layer" || status == "Waiting") {
      layers_[id] = 0;
    } else if (status == "Downloading") {
      layers_[id] = 0.5 * detail_fraction(line).value_or(0);
      byte_level = true;
    } else if (status == "Verifying Checksum" || status == "Download complete") {
      layers_[id] = 0.5;
    } else if (status == "Extracting") {
      layers_[id] = 0.5 + 0.5 * detail_fraction(line).value_or(0);
      byte_level = true;
    } else if (status == "Pull complete" || status == "Already exists") {
      layers_[id] = 1.0;
    }
    // Other id lines ("Pulling from library/x" carries the tag as id) are text only.
  }
  const double f = fraction();
  const int percent = f < 0 ? -1 : static_cast<int>(std::floor(f * 100));
  if (byte_level && percent == last_percent_) return std::optional<Progress>();
  last_percent_ = percent;
  Progress p;
  p.fraction = f;
  p.message = id.empty() ? status : id + ": " + status;
  p.step = !byte_level;
  return std::optional<Progress>(std::move(p));
}

Result<std::optional<Progress>> BuildProgress::stream_text(const std::string& text) {
  // "stream" chunks are usually whole lines, but nothing promises it.
  partial_ += text;
  std::optional<Progress> out;
  size_t nl;
  while ((nl = partial_.find('\n')) != std::string::npos) {
    std::string line = trim(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
    if (line.empty()) continue;
    Progress p;
    p.message = line;
    // "Step 2/4 : COPY busybox /bin/busybox"
    unsigned n = 0, total = 0;
    if (line.starts_with("Step ") && std::sscanf(line.c_str(), "Step %u/%u", &n, &total) == 2 &&
        total > 0 && n >= 1 && n <= total) {
      fraction_ = static_cast<double>(n - 1) / total;
      step_text_ = line;
      p.step = true;
    } else if (line.starts_with("Successfully built ")) {
      if (image_id_.empty()) image_id_ = line.substr(19);
    }
    p.fraction = fraction_;
    out = std::move(p);  // several lines in one chunk: the last one is reported
  }
  return out;
}

Result<std::optional<Progress>> BuildProgress::feed(const nlohmann::json& line) {
  if (std::optional<std::string> err = line_error(line)) {
    std::string where = step_text_.empty() ? "" : " at " + step_text_;
    return fail(Errc::tool_failed, "the image build failed" + where + ": " + trim(*err));
  }
  if (!line.is_object()) return std::optional<Progress>();
  if (auto aux = line.find("aux"); aux != line.end() && aux->is_object()) {
    const std::string id = string_field(*aux, "ID");
    if (!id.empty()) image_id_ = id;
    return std::optional<Progress>();
  }
  if (auto stream = line.find("stream"); stream != line.end() && stream->is_string()) {
    return stream_text(stream->get<std::string>());
  }
  // A base image pull inside the build ("status" lines) is reported as text.
  const std::string status = string_field(line, "status");
  if (status.empty()) return std::optional<Progress>();
  const std::string id = string_field(line, "id");
  Progress p;
  p.fraction = fraction_;
  p.message = id.empty() ? status : id + ": " + status;
  return std::optional<Progress>(std::move(p));
}

Progress BuildProgress::finished() const {
  Progress p;
  p.fraction = 1.0;
  p.step = true;
  p.message = "built " + image_id_;
  return p;
}

}  // namespace para::docker
