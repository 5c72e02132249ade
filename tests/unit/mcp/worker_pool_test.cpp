#include "mcp/worker_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace para::mcp {

TEST_SUITE("mcp/worker_pool") {
  TEST_CASE("jobs run concurrently up to the thread limit") {
    std::atomic<int> running{0}, peak{0};
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    {
      WorkerPool pool(3, 10);
      for (int i = 0; i < 3; ++i) {
        REQUIRE(pool.submit([&, gate] {
          peak = std::max(peak.load(), ++running);
          gate.wait();
          --running;
        }));
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (peak < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      CHECK(peak == 3);
      release.set_value();
    }
    CHECK(running == 0);
  }

  TEST_CASE("a full queue refuses work instead of growing") {
    std::promise<void> release, started;
    std::shared_future<void> gate = release.get_future().share();
    WorkerPool pool(1, 2);
    CHECK(pool.submit([&started, gate] {
      started.set_value();
      gate.wait();
    }));
    started.get_future().wait();
    // The single thread is busy: two jobs may wait, the rest are refused.
    int accepted = 0;
    for (int i = 0; i < 5; ++i) accepted += pool.submit([] {}) ? 1 : 0;
    CHECK(accepted == 2);
    release.set_value();
  }

  TEST_CASE("queued jobs still run when the pool is destroyed") {
    std::atomic<int> done{0};
    {
      WorkerPool pool(1, 100);
      for (int i = 0; i < 20; ++i) REQUIRE(pool.submit([&] { ++done; }));
    }
    CHECK(done == 20);
  }
}

}  // namespace para::mcp
