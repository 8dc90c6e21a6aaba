// Mailbox<T>: a queue with one pending receiver, resumed through the executor. The
// inbox of a peer endpoint (the simulator's, and each PeerChannels channel).
//
// Contract:
// - push() never runs the receiver inline; false (and `value` dropped) when full.
// - At most one pop() waits at a time. Destroying the frame that waits in pop()
//   withdraws it: a later push() resumes nobody and keeps the value for the next pop().
// - Destroying the mailbox drops a resume it had posted; a frame still waiting in
//   pop() must be destroyed before the mailbox.
// - Used from the executor's thread only.
#ifndef DISTKIT_CORE_ASYNC_MAILBOX_H_
#define DISTKIT_CORE_ASYNC_MAILBOX_H_

#include <coroutine>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <utility>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"

namespace distkit {

template <typename T>
class Mailbox {
 public:
  explicit Mailbox(Executor& executor,
                   std::size_t capacity = std::numeric_limits<std::size_t>::max())
      : executor_(executor), capacity_(capacity) {}
  ~Mailbox() { *alive_ = false; }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  bool push(T value) {
    if (queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(value));
    if (waiter_ && !resume_posted_) {
      resume_posted_ = true;
      executor_.post([this, alive = alive_] {
        if (!*alive) return;
        resume_posted_ = false;
        // Gone if its frame was destroyed meanwhile.
        if (waiter_) std::exchange(waiter_, {}).resume();
      });
    }
    return true;
  }

  Task<T> pop() {
    while (queue_.empty())
      co_await Wait{this};
    T value = std::move(queue_.front());
    queue_.pop_front();
    co_return value;
  }

  [[nodiscard]] std::size_t size() const { return queue_.size(); }

 private:
  struct Wait {
    explicit Wait(Mailbox* b) : box(b) {}
    Mailbox* box;
    std::coroutine_handle<> handle{};
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;
    ~Wait() {
      if (handle && box->waiter_ == handle) box->waiter_ = {};
    }
    bool await_ready() const noexcept { return !box->queue_.empty(); }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      box->waiter_ = h;
    }
    void await_resume() const noexcept {}
  };

  Executor& executor_;
  std::size_t capacity_;
  std::deque<T> queue_;
  std::coroutine_handle<> waiter_;
  bool resume_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_MAILBOX_H_
