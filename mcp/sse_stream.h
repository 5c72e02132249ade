#pragma once

// One logical Server-Sent-Events stream of a Streamable HTTP session: the
// stream of one POSTed request (its related messages, then its response) or
// the session's standalone stream (the GET stream). It outlives HTTP
// connections: messages are buffered until a connection delivers them, and
// a client that lost (or was asked to drop, SEP-1699) its connection resumes
// with GET + Last-Event-ID "<stream>-<seq>". At most one connection is
// attached at a time. Thread-safe; no sockets.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace para::mcp {

class SseStream {
 public:
  /// `max_buffered`: undelivered events kept before the oldest is dropped.
  SseStream(uint64_t id, size_t max_buffered = 1000);

  uint64_t id() const { return id_; }
  /// The SSE event id of event `seq` of this stream.
  std::string event_id(uint64_t seq) const;
  /// Parses an event id into (stream, seq).
  static std::optional<std::pair<uint64_t, uint64_t>> parse_event_id(const std::string& id);

  /// Producer side. push() after finish() is ignored.
  void push(std::string data);
  void finish();
  /// Ends the attached connection (the next next() returns `dropped`);
  /// the stream goes on buffering.
  void drop_connection();
  /// The transport is stopping: wake and end every connection.
  void shutdown();

  /// Connection side. attach() fails when another connection is attached.
  bool attach();
  void detach();
  bool attached() const;

  struct Next {
    enum class Kind { event, end, dropped, idle } kind = Kind::idle;
    uint64_t seq = 0;
    std::string data;
  };
  /// The first event after `after_seq`, waiting up to `timeout`; `end` when
  /// the stream is finished and nothing is left, `dropped` once per
  /// drop_connection(), `idle` on timeout.
  Next next(uint64_t after_seq, std::chrono::milliseconds timeout);
  /// Records that events up to `seq` reached a connection.
  void delivered(uint64_t seq);
  uint64_t delivered_upto() const;
  /// Finished and everything delivered: the stream can be forgotten.
  bool complete() const;
  /// No more messages will come (they may not all be delivered yet).
  bool finished() const;

 private:
  struct Event {
    uint64_t seq;
    std::string data;
  };
  void prune();  // caller holds mutex_

  const uint64_t id_;
  const size_t max_buffered_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  uint64_t next_seq_ = 1;
  uint64_t delivered_ = 0;
  bool finished_ = false;
  bool drop_ = false;
  bool shutdown_ = false;
  bool attached_ = false;
  bool overflowed_ = false;  // warned once
};

}  // namespace para::mcp
