// Executor: where a node's work and timers run. In production an Asio io_context
// (transport/); in the simulator one thread ordered by (virtual time, sequence).
#ifndef DISTKIT_CORE_ASYNC_EXECUTOR_H_
#define DISTKIT_CORE_ASYNC_EXECUTOR_H_

#include <coroutine>
#include <cstdint>
#include <functional>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/random.h"

namespace distkit {

// Contract:
// - post() and schedule_at() never run `fn` inline; it runs later on the executor's
//   thread (a production executor runs one thread; the simulator runs one for all).
// - Callbacks posted from the executor's own thread run in posting order. Timers with
//   the same deadline run in scheduling order.
// - A timer runs once clock().now() >= deadline, never earlier.
// - cancel() of a timer that has not run guarantees it never runs and returns true;
//   otherwise (already run, unknown id) it returns false.
// - Production executors are thread-safe; the simulator's are single-threaded.
class Executor {
 public:
  using Callback = std::function<void()>;
  using TimerId = std::uint64_t;

  virtual ~Executor() = default;
  [[nodiscard]] virtual const Clock& clock() const = 0;
  virtual void post(Callback fn) = 0;
  virtual TimerId schedule_at(MonoTime deadline, Callback fn) = 0;
  virtual bool cancel(TimerId id) = 0;

  // 64 random bits, never 0, for the ids, sessions and seeds a caller left to distkit
  // ("0: a random one"). Production executors ask the operating system; the
  // simulator's draw from the node's random stream, so a run replays exactly.
  [[nodiscard]] virtual std::uint64_t entropy() { return seed_or_entropy(0); }

  TimerId schedule_after(Duration delay, Callback fn) {
    return schedule_at(clock().now() + delay, std::move(fn));
  }
};

// `co_await sleep_until(executor, deadline)` resumes on `executor` once its clock has
// reached `deadline`. Also suspends (and resumes through the executor) when the
// deadline has passed, so a loop of sleeps always yields. A frame destroyed while it
// sleeps cancels its timer (on the executor's thread, as frames are destroyed there):
// the executor never resumes it, so an object whose loops sleep can be destroyed while
// the executor runs on.
class SleepAwaiter {
 public:
  SleepAwaiter(Executor& executor, MonoTime deadline) : executor_(executor), deadline_(deadline) {}
  ~SleepAwaiter() {
    if (timer_ != 0) executor_.cancel(timer_);
  }
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    // (The awaiter lives in the suspended frame until the timer resumes it.)
    timer_ = executor_.schedule_at(deadline_, [this, handle] {
      timer_ = 0;
      handle.resume();
    });
  }
  void await_resume() const noexcept {}

 private:
  Executor& executor_;
  MonoTime deadline_;
  Executor::TimerId timer_ = 0;
};

[[nodiscard]] inline SleepAwaiter sleep_until(Executor& executor, MonoTime deadline) {
  return SleepAwaiter(executor, deadline);
}
[[nodiscard]] inline SleepAwaiter sleep_for(Executor& executor, Duration delay) {
  return SleepAwaiter(executor, executor.clock().now() + delay);
}
// Lets other ready work run first.
[[nodiscard]] inline SleepAwaiter yield(Executor& executor) {
  return SleepAwaiter(executor, executor.clock().now());
}

// `co_await cancellable_sleep_for(executor, delay, &timer)` is sleep_for whose pending
// timer is kept in `*timer` (0 once it fired), so the owner of a background loop can
// cancel it and destroy the sleeping coroutine instead of waiting for it.
class CancellableSleepAwaiter {
 public:
  CancellableSleepAwaiter(Executor& executor, Duration delay, Executor::TimerId* timer)
      : executor_(executor), delay_(delay), timer_(timer) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    *timer_ = executor_.schedule_after(delay_, [handle, t = timer_] {
      *t = 0;
      handle.resume();
    });
  }
  void await_resume() const noexcept {}

 private:
  Executor& executor_;
  Duration delay_;
  Executor::TimerId* timer_;
};

[[nodiscard]] inline CancellableSleepAwaiter cancellable_sleep_for(Executor& executor,
                                                                   Duration delay,
                                                                   Executor::TimerId* timer) {
  return CancellableSleepAwaiter(executor, delay, timer);
}

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_EXECUTOR_H_
