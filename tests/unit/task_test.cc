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

#include "distkit/core/async/async_mutex.h"
#include "distkit/core/async/periodic_task.h"

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

// spawn() posts the start; a scope destroyed (or emptied) before it runs means the
// task never starts, and the posted start touches nothing (ASan checks).
TEST(TaskScope, ATaskWhoseScopeDiedBeforeItStartedNeverRuns) {
  ManualExecutor ex;
  bool ran = false;
  auto task = [&]() -> Task<void> {
    ran = true;
    co_return;
  };
  {
    TaskScope scope;
    spawn(ex, &scope, task());
  }
  TaskScope emptied;
  spawn(ex, &emptied, task());
  emptied.destroy_all();
  ex.drain();
  EXPECT_FALSE(ran);
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

// Holds `mutex` for `hold` of the executor's time, logging when it gets and frees it.
Task<void> hold_for(ManualExecutor& ex, AsyncMutex& mutex, std::string name, Duration hold,
                    std::vector<std::string>* log) {
  auto lock = co_await mutex.lock();
  log->push_back(name + "+");
  co_await sleep_for(ex, hold);
  log->push_back(name + "-");
}

TEST(AsyncMutex, OneHolderAtATimeInTheOrderAsked) {
  ManualExecutor ex;
  AsyncMutex mutex(ex);
  TaskScope scope;
  std::vector<std::string> log;
  for (const char* name : {"a", "b", "c"})
    spawn(ex, &scope, hold_for(ex, mutex, name, std::chrono::seconds(1), &log));
  ex.drain();
  EXPECT_EQ(log, (std::vector<std::string>{"a+"}));
  EXPECT_TRUE(mutex.locked());
  ex.advance(std::chrono::seconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "a-", "b+"})) << "no polling: b at once";
  ex.advance(std::chrono::seconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "a-", "b+", "b-", "c+"}));
  ex.advance(std::chrono::seconds(1));
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "a-", "b+", "b-", "c+", "c-"}));
  EXPECT_FALSE(mutex.locked());
  EXPECT_EQ(scope.live_tasks(), 0u);
}

TEST(AsyncMutex, VanishedFramesNeitherHoldItNorGetIt) {
  ManualExecutor ex;
  AsyncMutex mutex(ex);
  TaskScope holder, waiter, next;
  std::vector<std::string> log;
  spawn(ex, &holder, hold_for(ex, mutex, "a", std::chrono::seconds(1), &log));
  spawn(ex, &waiter, hold_for(ex, mutex, "b", std::chrono::seconds(1), &log));
  spawn(ex, &next, hold_for(ex, mutex, "c", std::chrono::seconds(1), &log));
  ex.drain();
  waiter.destroy_all();  // b vanishes while queued: skipped
  holder.destroy_all();  // a vanishes holding it: released
  ex.drain();
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "c+"}));
  next.destroy_all();
  EXPECT_FALSE(mutex.locked());
  // (Time does not move on: ManualExecutor, unlike the simulator's node executor, would
  // still fire the vanished frames' sleeps.)
}

TEST(AsyncMutex, AWaiterThatVanishesAfterItsTurnCameHandsItOn) {
  ManualExecutor ex;
  AsyncMutex mutex(ex);
  TaskScope holder, waiter, next;
  std::vector<std::string> log;
  spawn(ex, &holder, hold_for(ex, mutex, "a", std::chrono::seconds(1), &log));
  spawn(ex, &waiter, hold_for(ex, mutex, "b", std::chrono::seconds(1), &log));
  spawn(ex, &next, hold_for(ex, mutex, "c", std::chrono::seconds(1), &log));
  ex.drain();
  holder.destroy_all();  // hands it to b: b's resumption is posted, not run inline
  EXPECT_EQ(log, (std::vector<std::string>{"a+"}));
  waiter.destroy_all();  // b vanishes before it resumed
  ex.drain();
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "c+"}));
  next.destroy_all();
  EXPECT_FALSE(mutex.locked());
}

TEST(PeriodicTask, StopWaitsForARunningTickWithoutPolling) {
  ManualExecutor ex;
  PeriodicTask task(ex, std::chrono::seconds(1));
  int ticks = 0;
  bool tick_done = false;
  task.start([&]() -> Task<void> {
    ++ticks;
    co_await sleep_for(ex, std::chrono::milliseconds(300));
    tick_done = true;
  });
  ex.advance(std::chrono::seconds(1));
  ASSERT_EQ(ticks, 1);
  TaskScope scope;
  bool stopped = false;
  spawn(ex, &scope, task.stop(), [&] { stopped = true; });
  ex.drain();
  EXPECT_FALSE(stopped) << "a tick is running";
  ex.advance(std::chrono::milliseconds(300));
  EXPECT_TRUE(tick_done);
  EXPECT_TRUE(stopped) << "stop() returns as the tick ends, not a poll later";
  ex.advance(std::chrono::seconds(5));
  EXPECT_EQ(ticks, 1);
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
