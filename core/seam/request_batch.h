// RequestBatch: the outcomes of a group of requests sent together (one command or a
// pipeline), and the coroutine waiting for all of them. Shared by every
// RedisConnection implementation, so completion and resumption work the same way.
//
// The awaiting coroutine is resumed through the Executor, never inline from the code
// that delivers the last outcome. If the awaiting frame is destroyed first (a crashed
// simulated node), the batch is marked abandoned and nobody resumes it.
#ifndef DISTKIT_CORE_SEAM_REQUEST_BATCH_H_
#define DISTKIT_CORE_SEAM_REQUEST_BATCH_H_

#include <coroutine>
#include <memory>
#include <optional>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/in_input_order.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

class RequestBatch {
 public:
  RequestBatch(std::size_t size, Executor& executor)
      : results_(size), remaining_(size), executor_(executor) {}

  [[nodiscard]] std::size_t size() const { return results_.size(); }
  [[nodiscard]] bool done() const { return remaining_ == 0; }

  // Records request `index`'s outcome (the first one wins; later ones are ignored).
  // When it is the last, the waiting coroutine is resumed through the executor.
  static void complete(const std::shared_ptr<RequestBatch>& batch, std::size_t index,
                       Result<RedisReply> outcome) {
    RequestBatch& b = *batch;
    if (b.results_[index]) return;
    b.results_[index] = std::move(outcome);
    if (--b.remaining_ > 0 || !b.waiter_) return;
    b.executor_.post([batch] {
      if (!batch->abandoned_) batch->waiter_.resume();
    });
  }

  // `co_await RequestBatch::wait(batch)` suspends until every outcome is in.
  class Awaiter {
   public:
    explicit Awaiter(std::shared_ptr<RequestBatch> batch) : batch_(std::move(batch)) {}
    Awaiter(const Awaiter&) = delete;
    ~Awaiter() { batch_->abandoned_ = true; }
    bool await_ready() const noexcept { return batch_->done(); }
    void await_suspend(std::coroutine_handle<> handle) { batch_->waiter_ = handle; }
    void await_resume() const noexcept {}

   private:
    std::shared_ptr<RequestBatch> batch_;
  };
  [[nodiscard]] static Awaiter wait(std::shared_ptr<RequestBatch> batch) {
    return Awaiter(std::move(batch));
  }

  // REQUIRES: done().
  [[nodiscard]] std::vector<Result<RedisReply>> take() { return take_all(results_); }

 private:
  std::vector<std::optional<Result<RedisReply>>> results_;
  std::size_t remaining_;
  Executor& executor_;
  std::coroutine_handle<> waiter_;
  bool abandoned_ = false;  // the awaiting frame is gone
};

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_REQUEST_BATCH_H_
