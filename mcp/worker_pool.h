#pragma once

// A bounded pool of worker threads for request handlers, so that the
// transport's reader thread stays free for ping and notifications/cancelled
// while a long tool blocks. Threads start on demand up to `max_threads`;
// jobs beyond that wait in a queue of at most `max_queued`. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace para::mcp {

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_threads = 32, size_t max_queued = 1024);
  /// Runs the jobs already queued, then joins every thread.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues a job. False when the pool is stopping or the queue is full (the
  /// caller answers "busy"). A job must not throw.
  bool submit(std::function<void()> job);

 private:
  void run() noexcept;

  const size_t max_threads_, max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace para::mcp
