#include "distkit/transport/runtime.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace distkit::transport {

namespace asio = boost::asio;

AsioRuntime::AsioRuntime() : owned_io_(std::make_unique<asio::io_context>(1)), io_(*owned_io_) {}

AsioRuntime::AsioRuntime(asio::io_context& io) : io_(io) {}

std::unique_ptr<AsioRuntime> AsioRuntime::start() {
  std::unique_ptr<AsioRuntime> runtime(new AsioRuntime());
  AsioRuntime* r = runtime.get();
  r->thread_ = std::thread([r] {
    r->thread_id_ = std::this_thread::get_id();
    auto guard = asio::make_work_guard(r->io_);
    r->io_.run();
  });
  return runtime;
}

AsioRuntime::~AsioRuntime() {
  if (thread_.joinable()) {
    io_.stop();
    thread_.join();
  }
}

bool AsioRuntime::in_runtime_thread() const {
  return owned_io_ ? thread_id_.load() == std::this_thread::get_id()
                   : io_.get_executor().running_in_this_thread();
}

void AsioRuntime::post(Callback fn) {
  asio::post(io_, std::move(fn));
}

// Called with timers_mutex_ held.
void AsioRuntime::arm(TimerId id, MonoTime deadline, Callback fn) {
  auto timer = std::make_unique<asio::steady_timer>(
      io_, std::chrono::steady_clock::time_point(deadline.time_since_epoch()));
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code&) {
    // Not the error code: a timer that had expired when cancel() ran completes with
    // success anyway (Asio can no longer cancel a queued handler). Its id is gone then.
    {
      std::lock_guard<std::mutex> lock(timers_mutex_);
      auto it = timers_.find(id);
      if (it == timers_.end()) return;  // cancelled
      timers_.erase(it);
    }
    fn();
  });
  timers_.emplace(id, std::move(timer));
}

Executor::TimerId AsioRuntime::schedule_at(MonoTime deadline, Callback fn) {
  // Armed at once from any thread (a new timer object; the io_context is thread-safe),
  // so a cancel() that follows always finds it.
  std::lock_guard<std::mutex> lock(timers_mutex_);
  const TimerId id = next_timer_++;
  arm(id, deadline, std::move(fn));
  return id;
}

bool AsioRuntime::cancel(TimerId id) {
  std::unique_ptr<asio::steady_timer> timer;
  {
    std::lock_guard<std::mutex> lock(timers_mutex_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    timer = std::move(it->second);
    timers_.erase(it);
  }
  timer->cancel();
  return true;
}

MonoTime AsioRuntime::now() const {
  return MonoTime(
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

WallTime AsioRuntime::wall_now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

}  // namespace distkit::transport
