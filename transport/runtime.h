// AsioRuntime: the production Executor and Clock. It owns an io_context running on
// its own thread (start()), or drives one the caller runs. Core tasks spawned on it
// (spawn, block_on) run on that thread; so do RedisClient's callbacks.
//
// Thread safety: post() and schedule_at() may be called from any thread; cancel()
// only from the runtime's thread (where the core's code runs).
#ifndef DISTKIT_TRANSPORT_RUNTIME_H_
#define DISTKIT_TRANSPORT_RUNTIME_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "distkit/core/async/clock.h"
#include "distkit/core/async/executor.h"

namespace distkit::transport {

class AsioRuntime final : public Executor, public Clock {
 public:
  // An io_context on a thread of its own, stopped and joined by the destructor.
  [[nodiscard]] static std::unique_ptr<AsioRuntime> start();
  // Uses `io`, which the caller runs (on one thread).
  explicit AsioRuntime(boost::asio::io_context& io);
  ~AsioRuntime() override;
  AsioRuntime(const AsioRuntime&) = delete;
  AsioRuntime& operator=(const AsioRuntime&) = delete;

  [[nodiscard]] boost::asio::io_context& io() { return io_; }
  [[nodiscard]] bool in_runtime_thread() const;

  // Executor.
  [[nodiscard]] const Clock& clock() const override { return *this; }
  void post(Callback fn) override;
  TimerId schedule_at(MonoTime deadline, Callback fn) override;
  bool cancel(TimerId id) override;

  // Clock: steady_clock and system_clock.
  [[nodiscard]] MonoTime now() const override;
  [[nodiscard]] WallTime wall_now() const override;

 private:
  AsioRuntime();
  void arm(TimerId id, MonoTime deadline, Callback fn);

  std::unique_ptr<boost::asio::io_context> owned_io_;
  boost::asio::io_context& io_;
  std::atomic<TimerId> next_timer_{1};
  // Armed timers; an id leaves when its callback starts or it is cancelled, so a
  // callback whose timer had already expired when cancel() ran still never runs.
  std::mutex timers_mutex_;
  std::map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_RUNTIME_H_
