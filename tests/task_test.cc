// Task<T>, spawn, TaskScope and block_on, on small executors defined here.
#include "distkit/core/async/task.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace distkit {
namespace {

// A single-threaded executor stepped by hand; its clock moves only when told.
class ManualExecutor final : public Executor, public Clock {
 public:
  const Clock& clock() const override { return *this; }
  MonoTime now() const override { return now_; }
  WallTime wall_now() const override { return WallTime(now_.time_since_epoch()); }
  void post(Callback fn) override { ready_.push_back(std::move(fn)); }
  TimerId schedule_at(MonoTime deadline, Callback fn) override {
    const TimerId id = next_++;
    timers_.emplace(std::make_pair(deadline, id), std::move(fn));
    return id;
  }
  bool cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return true;
      }
    }
    return false;
  }
  // Runs everything ready, then timers due by now, until idle.
  void drain() {
    while (true) {
      if (!ready_.empty()) {
        Callback fn = std::move(ready_.front());
        ready_.pop_front();
        fn();
        continue;
      }
      if (!timers_.empty() && timers_.begin()->first.first <= now_) {
        Callback fn = std::move(timers_.begin()->second);
        timers_.erase(timers_.begin());
        fn();
        continue;
      }
      return;
    }
  }
  void advance(Duration d) {
    now_ += d;
    drain();
  }

 private:
  MonoTime now_{std::chrono::seconds(100)};
  TimerId next_ = 1;
  std::deque<Callback> ready_;
  std::map<std::pair<MonoTime, TimerId>, Callback> timers_;
};

Task<int> answer() {
  co_return 42;
}

Task<int> add_one(Task<int> inner) {
  co_return co_await std::move(inner) + 1;
}

Task<std::unique_ptr<std::string>> move_only() {
  co_return std::make_unique<std::string>("x");
}

Task<int> count_down(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await count_down(n - 1);
}

TEST(Task, IsLazyAndYieldsItsValue) {
  ManualExecutor ex;
  bool started = false;
  auto body = [&]() -> Task<int> {
    started = true;
    co_return 7;
  };
  Task<int> t = body();
  EXPECT_FALSE(started) << "a Task runs nothing until awaited or spawned";
  int result = 0;
  spawn(ex, nullptr, add_one(std::move(t)), [&](int v) { result = v; });
  EXPECT_FALSE(started) << "spawn posts; it never runs inline";
  ex.drain();
  EXPECT_TRUE(started);
  EXPECT_EQ(result, 8);
}

TEST(Task, MoveOnlyValues) {
  ManualExecutor ex;
  std::string got;
  spawn(ex, nullptr, move_only(), [&](std::unique_ptr<std::string> p) { got = *p; });
  ex.drain();
  EXPECT_EQ(got, "x");
}

TEST(Task, LongAwaitChainsComplete) {
  // Symmetric transfer keeps the stack flat in optimised builds; GCC at -O0 does not
  // turn the transfer into a tail call, so the depth here stays moderate.
  ManualExecutor ex;
  int result = -1;
  spawn(ex, nullptr, count_down(5'000), [&](int v) { result = v; });
  ex.drain();
  EXPECT_EQ(result, 5'000);
}

TEST(Task, SleepWaitsForTheClock) {
  ManualExecutor ex;
  std::vector<std::string> log;
  auto sleeper = [&]() -> Task<void> {
    log.push_back("start");
    co_await sleep_for(ex, std::chrono::milliseconds(10));
    log.push_back("woke");
  };
  spawn(ex, nullptr, sleeper());
  ex.drain();
  EXPECT_EQ(log, std::vector<std::string>{"start"});
  ex.advance(std::chrono::milliseconds(9));
  EXPECT_EQ(log.size(), 1u);
  ex.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"start", "woke"}));
}

struct Witness {
  explicit Witness(int* destroyed) : destroyed(destroyed) {}
  ~Witness() { ++*destroyed; }
  int* destroyed;
};

TEST(TaskScope, DestroysUnfinishedTasksAndTheirChildren) {
  ManualExecutor ex;
  int destroyed = 0;
  bool finished = false;
  auto child = [&]() -> Task<void> {
    Witness w(&destroyed);
    co_await sleep_for(ex, std::chrono::hours(1));
  };
  auto parent = [&]() -> Task<void> {
    Witness w(&destroyed);
    co_await child();
    finished = true;
  };
  {
    TaskScope scope;
    spawn(ex, &scope, parent(), [&] { finished = true; });
    ex.drain();
    EXPECT_EQ(scope.live_tasks(), 1u);
    EXPECT_EQ(destroyed, 0);
    scope.destroy_all();
    EXPECT_EQ(scope.live_tasks(), 0u);
    EXPECT_EQ(destroyed, 2) << "both frames' locals were destroyed";
  }
  EXPECT_FALSE(finished) << "a destroyed task never completes";
}

TEST(TaskScope, FinishedTasksLeaveTheScope) {
  ManualExecutor ex;
  TaskScope scope;
  int done = 0;
  for (int i = 0; i < 3; ++i)
    spawn(ex, &scope, answer(), [&](int) { ++done; });
  EXPECT_EQ(scope.live_tasks(), 3u);
  ex.drain();
  EXPECT_EQ(done, 3);
  EXPECT_EQ(scope.live_tasks(), 0u);
}

// A production-like executor: one worker thread, real time.
class ThreadExecutor final : public Executor, public Clock {
 public:
  ThreadExecutor() : worker_([this] { run(); }) {}
  ~ThreadExecutor() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }
  const Clock& clock() const override { return *this; }
  MonoTime now() const override {
    return MonoTime(std::chrono::steady_clock::now().time_since_epoch());
  }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  void post(Callback fn) override { schedule_at(now(), std::move(fn)); }
  TimerId schedule_at(MonoTime deadline, Callback fn) override {
    std::lock_guard lock(mutex_);
    const TimerId id = next_++;
    queue_.emplace(std::make_pair(deadline, id), std::move(fn));
    cv_.notify_one();
    return id;
  }
  bool cancel(TimerId) override { return false; }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto first = queue_.begin();
      if (first->first.first > now()) {
        cv_.wait_for(lock, first->first.first - now());
        continue;
      }
      Callback fn = std::move(first->second);
      queue_.erase(first);
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::pair<MonoTime, TimerId>, Callback> queue_;
  TimerId next_ = 1;
  bool stop_ = false;
  std::thread worker_;
};

TEST(BlockOn, RunsOnTheExecutorThreadAndWaits) {
  ThreadExecutor ex;
  const std::thread::id caller = std::this_thread::get_id();
  auto work = [&]() -> Task<bool> {
    co_await sleep_for(ex, std::chrono::milliseconds(5));
    co_return std::this_thread::get_id() != caller;
  };
  EXPECT_TRUE(block_on(ex, work()));
  EXPECT_EQ(block_on(ex, add_one(answer())), 43);
}

TEST(BlockOn, ManyCallerThreads) {
  ThreadExecutor ex;
  std::vector<std::thread> callers;
  std::atomic<int> sum{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      for (int j = 0; j < 50; ++j)
        sum += block_on(ex, answer());
    });
  }
  for (auto& t : callers)
    t.join();
  EXPECT_EQ(sum.load(), 8 * 50 * 42);
}

}  // namespace
}  // namespace distkit
