// AsyncMutex: mutual exclusion between coroutines of one executor, without blocking a
// thread and without polling. `auto lock = co_await mutex.lock();` holds it until
// `lock` is destroyed; waiters get it in the order they asked, each resumed through
// the executor (never inline from unlock).
//
// Frames may vanish (the simulator crashes a node by destroying its coroutines): a
// waiter destroyed before its turn is skipped, one destroyed after the mutex was handed
// to it but before it resumed passes it on, and a holder destroyed releases it. The
// mutex itself may go away with waiters queued: they are then never resumed.
//
// Not thread-safe: every lock() and unlock happens on the executor's thread.
#ifndef DISTKIT_CORE_ASYNC_ASYNC_MUTEX_H_
#define DISTKIT_CORE_ASYNC_ASYNC_MUTEX_H_

#include <coroutine>
#include <deque>
#include <memory>
#include <utility>

#include "distkit/core/async/executor.h"

namespace distkit {

class AsyncMutex {
  struct Waiter {
    std::coroutine_handle<> handle;
    bool abandoned = false;  // its frame is gone
  };
  struct State {
    explicit State(Executor& e) : executor(e) {}
    Executor& executor;
    bool locked = false;
    bool alive = true;  // the AsyncMutex exists
    std::deque<std::shared_ptr<Waiter>> waiters;

    // Hands the mutex to the next live waiter, or frees it.
    static void release(const std::shared_ptr<State>& self) {
      while (self->alive && !self->waiters.empty()) {
        std::shared_ptr<Waiter> next = std::move(self->waiters.front());
        self->waiters.pop_front();
        if (next->abandoned) continue;
        self->executor.post([self, next] {
          if (!self->alive) return;
          if (next->abandoned) {
            release(self);  // handed over, then its frame went: pass it on
            return;
          }
          next->handle.resume();
        });
        return;  // still locked: it belongs to `next` now
      }
      self->locked = false;
    }
  };

 public:
  explicit AsyncMutex(Executor& executor) : state_(std::make_shared<State>(executor)) {}
  ~AsyncMutex() { state_->alive = false; }
  AsyncMutex(const AsyncMutex&) = delete;
  AsyncMutex& operator=(const AsyncMutex&) = delete;

  // Owns the mutex until destroyed (or moved from).
  class [[nodiscard]] Lock {
   public:
    explicit Lock(std::shared_ptr<State> state) : state_(std::move(state)) {}
    Lock(Lock&& other) noexcept : state_(std::move(other.state_)) {}
    Lock& operator=(Lock&&) = delete;
    Lock(const Lock&) = delete;
    ~Lock() {
      if (state_) State::release(state_);
    }

   private:
    std::shared_ptr<State> state_;
  };

  class [[nodiscard]] LockAwaiter {
   public:
    explicit LockAwaiter(std::shared_ptr<State> state) : state_(std::move(state)) {}
    LockAwaiter(const LockAwaiter&) = delete;
    ~LockAwaiter() {
      if (waiter_ && !resumed_) waiter_->abandoned = true;
    }
    bool await_ready() {
      if (state_->locked) return false;
      state_->locked = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> handle) {
      waiter_ = std::make_shared<Waiter>(Waiter{handle});
      state_->waiters.push_back(waiter_);
    }
    Lock await_resume() {
      resumed_ = true;
      return Lock(state_);
    }

   private:
    std::shared_ptr<State> state_;
    std::shared_ptr<Waiter> waiter_;
    bool resumed_ = false;
  };

  [[nodiscard]] LockAwaiter lock() { return LockAwaiter(state_); }
  [[nodiscard]] bool locked() const { return state_->locked; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_ASYNC_MUTEX_H_
