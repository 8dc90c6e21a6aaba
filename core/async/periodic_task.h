// PeriodicTask: a background loop owned by an object (a lax counter's flusher, an
// instance-aware counter's heartbeat): sleeps `interval`, runs one tick, and again,
// until stop(). Stopping cancels a pending sleep at once, or lets a running tick finish.
#ifndef DISTKIT_CORE_ASYNC_PERIODIC_TASK_H_
#define DISTKIT_CORE_ASYNC_PERIODIC_TASK_H_

#include <functional>
#include <utility>

#include "distkit/core/async/async_mutex.h"
#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"

namespace distkit {

class PeriodicTask {
 public:
  PeriodicTask(Executor& executor, Duration interval)
      : executor_(executor), interval_(interval), running_(executor) {}
  ~PeriodicTask() {
    if (timer_ != 0) executor_.cancel(timer_);
    scope_.destroy_all();
  }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // `tick` runs on the executor; the loop never runs two ticks at once. The first
  // sleep is armed before start() returns, so destroying the owner at once is safe.
  void start(std::function<Task<void>()> tick) {
    tick_ = std::move(tick);
    done_ = false;
    start_now(&scope_, loop());
  }

  // Returns once no tick runs and none will.
  Task<void> stop() {
    stopping_ = true;
    if (timer_ != 0 && executor_.cancel(timer_)) {
      // Asleep, and the wake-up will never come: drop the loop's frame (nothing else
      // refers to it). If cancel() failed, the wake-up is on its way and the loop ends
      // by itself.
      timer_ = 0;
      scope_.destroy_all();
      done_ = true;
    }
    // The loop holds `running_` while it lives: once it is ours, the loop has ended.
    if (!done_) auto ended = co_await running_.lock();
  }

 private:
  Task<void> loop() {
    auto running = co_await running_.lock();
    while (!stopping_) {
      co_await cancellable_sleep_for(executor_, interval_, &timer_);
      if (stopping_) break;
      co_await tick_();
    }
    done_ = true;
  }

  Executor& executor_;
  Duration interval_;
  std::function<Task<void>()> tick_;
  bool stopping_ = false;
  bool done_ = true;
  Executor::TimerId timer_ = 0;
  AsyncMutex running_;
  TaskScope scope_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_PERIODIC_TASK_H_
