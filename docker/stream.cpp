#include "docker/stream.h"

#include <algorithm>

namespace para::docker {

Result<bool> FrameDemuxer::feed(std::string_view data) {
  while (!data.empty()) {
    if (payload_left_ == 0) {
      const size_t take = std::min(data.size(), sizeof(header_) - header_len_);
      std::copy_n(data.data(), take, header_ + header_len_);
      header_len_ += take;
      data.remove_prefix(take);
      if (header_len_ < sizeof(header_)) break;
      header_len_ = 0;
      const auto byte = [&](size_t i) { return static_cast<unsigned char>(header_[i]); };
      if (byte(0) > 3 || byte(1) != 0 || byte(2) != 0 || byte(3) != 0) {
        return fail(Errc::invalid_argument,
                    "the Docker output stream is not multiplexed (bad frame header)");
      }
      kind_ = static_cast<StreamKind>(byte(0));
      payload_left_ = (uint64_t(byte(4)) << 24) | (uint64_t(byte(5)) << 16) |
                      (uint64_t(byte(6)) << 8) | uint64_t(byte(7));
      continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(data.size(), payload_left_));
    payload_left_ -= take;
    const bool go_on = sink_(kind_, data.substr(0, take));
    data.remove_prefix(take);
    if (!go_on) return false;
  }
  return true;
}

Result<void> FrameDemuxer::finish() const {
  if (header_len_ != 0 || payload_left_ != 0) {
    return fail(Errc::invalid_argument, "the Docker output stream ended inside a frame");
  }
  return {};
}

Result<bool> LineSplitter::feed(std::string_view data) {
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    const std::string_view piece = data.substr(0, nl);
    if (partial_.size() + piece.size() > max_line_) {
      partial_.clear();
      return fail(Errc::invalid_argument, "a line in the Docker response is longer than " +
                                              std::to_string(max_line_) + " bytes");
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      break;
    }
    data.remove_prefix(nl + 1);
    std::string_view line = piece;
    if (!partial_.empty()) {
      partial_.append(piece);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool go_on = sink_(line);
    partial_.clear();
    if (!go_on) return false;
  }
  return true;
}

bool LineSplitter::finish() {
  if (partial_.empty()) return true;
  std::string last = std::move(partial_);
  partial_.clear();
  if (!last.empty() && last.back() == '\r') last.pop_back();
  return sink_(last);
}

}  // namespace para::docker
