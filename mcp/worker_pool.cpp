#include "mcp/worker_pool.h"

namespace para::mcp {

WorkerPool::WorkerPool(size_t max_threads, size_t max_queued)
    : max_threads_(max_threads == 0 ? 1 : max_threads), max_queued_(max_queued) {}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkerPool::submit(std::function<void()> job) {
  std::unique_lock lock(mutex_);
  if (stopping_) return false;
  if (queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(job));
  // More queued jobs than idle threads to take them: start one more thread.
  if (queue_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { run(); });
  } else {
    lock.unlock();
    wake_.notify_one();
  }
  return true;
}

void WorkerPool::run() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      ++idle_;
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      --idle_;
      continue;
    }
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace para::mcp
