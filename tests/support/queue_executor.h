// QueueExecutor: an Executor for tests whose work never waits on time (the simulated
// disk, a machine driven by hand). post() and timers queue their callbacks; drain()
// runs them in order on the test's thread. Its clock stands still.
#ifndef DISTKIT_TESTS_SUPPORT_QUEUE_EXECUTOR_H_
#define DISTKIT_TESTS_SUPPORT_QUEUE_EXECUTOR_H_

#include <deque>
#include <optional>
#include <utility>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"

namespace distkit::testing {

class QueueExecutor final : public Executor, public Clock {
 public:
  const Clock& clock() const override { return *this; }
  MonoTime now() const override { return MonoTime{}; }
  WallTime wall_now() const override { return WallTime{}; }
  void post(Callback fn) override { queue_.push_back(std::move(fn)); }
  TimerId schedule_at(MonoTime, Callback fn) override {
    queue_.push_back(std::move(fn));
    return 0;
  }
  bool cancel(TimerId) override { return false; }
  void drain() {
    while (!queue_.empty()) {
      Callback fn = std::move(queue_.front());
      queue_.pop_front();
      fn();
    }
  }

  // Runs `task` until nothing is left to do; nullopt if it did not finish.
  template <typename T>
  std::optional<T> run(Task<T> task) {
    std::optional<T> out;
    spawn(*this, nullptr, std::move(task), [&](T&& v) { out.emplace(std::move(v)); });
    drain();
    return out;
  }

 private:
  std::deque<Callback> queue_;
};

}  // namespace distkit::testing

#endif  // DISTKIT_TESTS_SUPPORT_QUEUE_EXECUTOR_H_
