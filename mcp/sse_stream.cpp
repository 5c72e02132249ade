#include "mcp/sse_stream.h"

#include "core/log.h"

namespace para::mcp {

namespace {
// Delivered events kept for a client that resumes with an older Last-Event-ID.
constexpr size_t kReplayKept = 64;
}  // namespace

SseStream::SseStream(uint64_t id, size_t max_buffered)
    : id_(id), max_buffered_(max_buffered == 0 ? 1 : max_buffered) {}

std::string SseStream::event_id(uint64_t seq) const {
  return std::to_string(id_) + "-" + std::to_string(seq);
}

std::optional<std::pair<uint64_t, uint64_t>> SseStream::parse_event_id(const std::string& id) {
  const size_t dash = id.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 >= id.size() || id.size() > 40) {
    return std::nullopt;
  }
  auto number = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoull(s);
  };
  const auto stream = number(id.substr(0, dash));
  const auto seq = number(id.substr(dash + 1));
  if (!stream || !seq) return std::nullopt;
  return std::make_pair(*stream, *seq);
}

void SseStream::push(std::string data) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    events_.push_back(Event{next_seq_++, std::move(data)});
    prune();
  }
  cv_.notify_all();
}

void SseStream::finish() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  cv_.notify_all();
}

void SseStream::drop_connection() {
  {
    std::lock_guard lock(mutex_);
    drop_ = true;
  }
  cv_.notify_all();
}

void SseStream::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

bool SseStream::attach() {
  std::lock_guard lock(mutex_);
  if (attached_) return false;
  attached_ = true;
  return true;
}

void SseStream::detach() {
  std::lock_guard lock(mutex_);
  attached_ = false;
}

bool SseStream::attached() const {
  std::lock_guard lock(mutex_);
  return attached_;
}

SseStream::Next SseStream::next(uint64_t after_seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto ready = [&] {
    return shutdown_ || drop_ || finished_ || (!events_.empty() && events_.back().seq > after_seq);
  };
  cv_.wait_for(lock, timeout, ready);
  if (drop_) {
    drop_ = false;
    return Next{Next::Kind::dropped, 0, {}};
  }
  for (const Event& e : events_) {
    if (e.seq > after_seq) return Next{Next::Kind::event, e.seq, e.data};
  }
  if (shutdown_ || finished_) return Next{Next::Kind::end, 0, {}};
  return Next{Next::Kind::idle, 0, {}};
}

void SseStream::delivered(uint64_t seq) {
  std::lock_guard lock(mutex_);
  if (seq > delivered_) delivered_ = seq;
  prune();
}

uint64_t SseStream::delivered_upto() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

bool SseStream::complete() const {
  std::lock_guard lock(mutex_);
  return finished_ && delivered_ + 1 >= next_seq_;
}

bool SseStream::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

void SseStream::prune() {
  // Keep every undelivered event (up to max_buffered_) and the last
  // kReplayKept delivered ones.
  size_t delivered_count = 0;
  for (const Event& e : events_) delivered_count += e.seq <= delivered_ ? 1 : 0;
  while (delivered_count > kReplayKept) {
    events_.pop_front();
    --delivered_count;
  }
  if (events_.size() - delivered_count > max_buffered_) {
    if (!overflowed_) {
      log::warn("mcp") << "SSE stream " << id_ << ": nobody is reading; dropping old messages";
      overflowed_ = true;
    }
    while (events_.size() - delivered_count > max_buffered_) {
      if (events_.front().seq <= delivered_) --delivered_count;
      events_.pop_front();
    }
  }
}

}  // namespace para::mcp
