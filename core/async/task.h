// Task<T>: distkit's coroutine type, and the ways to start one.
//
// A Task is lazy: calling a coroutine that returns Task<T> creates a suspended frame
// and runs nothing. Its body runs when it is co_awaited (the awaiting coroutine resumes
// when it finishes, by symmetric transfer: a flat stack in optimised builds) or when it is
// spawned on an Executor. The Task object owns its frame: destroying a Task that has
// not finished destroys the frame and, with it, every Task that frame was awaiting.
//
// Errors travel as Result/Status values; a Task's body must not throw (an escaping
// exception terminates the process, as for a noexcept function).
//
// Thread safety: a Task and its frame are used by one thread at a time; every
// suspension resumes through an Executor, which decides the thread.
#ifndef DISTKIT_CORE_ASYNC_TASK_H_
#define DISTKIT_CORE_ASYNC_TASK_H_

#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "distkit/core/async/executor.h"

namespace distkit {

template <typename T = void>
class Task;

namespace detail {

struct TaskPromiseBase {
  // Who resumes when this task finishes; nobody by default.
  std::coroutine_handle<> continuation = std::noop_coroutine();

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      return self.promise().continuation;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() const noexcept { std::terminate(); }
};

template <typename T>
struct TaskPromise : TaskPromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <typename U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
  [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

  // `co_await std::move(task)` or `co_await f()`: runs the task, yields its value.
  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle.promise().continuation = awaiting;
        return handle;
      }
      T await_resume() {
        if constexpr (!std::is_void_v<T>) return std::move(*handle.promise().value);
      }
    };
    return Awaiter{handle_};
  }

 private:
  void reset() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

class TaskScope;

namespace detail {

// The frame of a spawned task: starts suspended, frees itself when done, and tells
// its scope (if any) that it is gone.
struct DetachedTask {
  struct promise_type {
    TaskScope* scope = nullptr;
    std::uint64_t id = 0;
    DetachedTask get_return_object() noexcept {
      return DetachedTask{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() noexcept;
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

template <typename T, typename OnDone>
DetachedTask run_detached(Task<T> task, OnDone on_done) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(task);
    on_done();
  } else {
    on_done(co_await std::move(task));
  }
}

}  // namespace detail

// Owns spawned tasks that have not finished, so they can be destroyed together: when a
// simulated node crashes, its TaskScope is destroyed and its coroutines vanish with it.
//
// Contract: destroy a scope (or call destroy_all()) only when nothing can resume its
// tasks any more: the simulator first invalidates every pending event of the node; a
// production owner first stops its executor. Single-threaded, like the tasks it owns.
class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope() {
    *token_ = nullptr;
    destroy_all();
  }

  [[nodiscard]] std::size_t live_tasks() const { return live_.size(); }

  // Destroys every unfinished task's frame without resuming it; their on_done
  // callbacks never run.
  void destroy_all() {
    while (!live_.empty()) {
      auto it = live_.begin();
      auto handle = it->second;
      live_.erase(it);
      handle.promise().scope = nullptr;
      handle.destroy();
    }
  }

 private:
  friend struct detail::DetachedTask::promise_type;
  template <typename T, typename OnDone>
  friend void spawn(Executor&, TaskScope*, Task<T>, OnDone);
  template <typename T>
  friend void start_now(TaskScope*, Task<T>);

  std::uint64_t add(std::coroutine_handle<detail::DetachedTask::promise_type> handle) {
    const std::uint64_t id = next_id_++;
    live_.emplace(id, handle);
    return id;
  }
  void remove(std::uint64_t id) { live_.erase(id); }

  [[nodiscard]] bool holds(std::uint64_t id) const { return live_.contains(id); }

  std::uint64_t next_id_ = 1;
  // Points at the scope while it lives: a start posted by spawn() checks it, so a
  // task whose scope died before it started is never resumed.
  std::shared_ptr<TaskScope*> token_ = std::make_shared<TaskScope*>(this);
  // Ordered by spawn order, so destruction order is deterministic.
  std::map<std::uint64_t, std::coroutine_handle<detail::DetachedTask::promise_type>> live_;
};

inline auto detail::DetachedTask::promise_type::final_suspend() noexcept {
  if (scope != nullptr) scope->remove(id);
  return std::suspend_never{};
}

// Starts `task` on `executor` (through post(), never inline) and calls
// `on_done(value)` (or `on_done()` for Task<void>) on the executor when it finishes.
// With a scope, the task dies with the scope if it has not finished by then (also
// before it started: the posted start then does nothing).
template <typename T, typename OnDone>
void spawn(Executor& executor, TaskScope* scope, Task<T> task, OnDone on_done) {
  detail::DetachedTask detached = detail::run_detached(std::move(task), std::move(on_done));
  if (scope == nullptr) {
    executor.post([handle = detached.handle] { handle.resume(); });
    return;
  }
  const std::uint64_t id = scope->add(detached.handle);
  detached.handle.promise().scope = scope;
  detached.handle.promise().id = id;
  // The scope may be destroyed (or destroy_all()) before the start runs.
  executor.post([handle = detached.handle, token = scope->token_, id] {
    if (*token != nullptr && (*token)->holds(id)) handle.resume();
  });
}

template <typename T>
void spawn(Executor& executor, TaskScope* scope, Task<T> task) {
  if constexpr (std::is_void_v<T>) {
    spawn(executor, scope, std::move(task), [] {});
  } else {
    spawn(executor, scope, std::move(task), [](T&&) {});
  }
}

// Like spawn(), but runs `task` at once on the calling thread until its first
// suspension, instead of posting its start. For a background loop whose first act is to
// arm a cancellable timer: once this returns, the timer is armed, so an owner destroyed
// right away can cancel it (a posted start would resume a destroyed frame).
template <typename T>
void start_now(TaskScope* scope, Task<T> task) {
  detail::DetachedTask detached = [](Task<T> t) -> detail::DetachedTask {
    co_await std::move(t);
  }(std::move(task));
  if (scope != nullptr) {
    detached.handle.promise().scope = scope;
    detached.handle.promise().id = scope->add(detached.handle);
  }
  detached.handle.resume();
}

// The blocking form, for callers that do not write coroutines: runs `task` on
// `executor` and waits for its value.
// REQUIRES: `executor` runs on another thread (a production runtime). Calling it from
// the executor's own thread, or with the simulator, would wait forever.
template <typename T>
T block_on(Executor& executor, Task<T> task) {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> result{};
  auto finish = [&] {
    std::lock_guard lock(mutex);
    done = true;
    done_cv.notify_one();
  };
  if constexpr (std::is_void_v<T>) {
    spawn(executor, nullptr, std::move(task), [&] { finish(); });
  } else {
    spawn(executor, nullptr, std::move(task), [&](T&& value) {
      result.emplace(std::move(value));
      finish();
    });
  }
  std::unique_lock lock(mutex);
  done_cv.wait(lock, [&] { return done; });
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_TASK_H_
