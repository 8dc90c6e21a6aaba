// RequestBatch: the outcomes of a group of requests sent together (one command or a
// pipeline), and the coroutine waiting for all of them; OneRequest, the same for a
// lone command. Shared by every RedisConnection implementation, so completion and
// resumption work the same way.
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

namespace detail {

// What RequestBatch and OneRequest share: the one coroutine waiting for the outcomes,
// resumed through the executor once the last one is in (never inline), or not at all
// once its frame is gone.
class AwaitedOutcomes {
 public:
  // `co_await AwaitedOutcomes::Awaiter<Batch>(batch)` suspends until batch->done().
  template <typename Owner>
  class Awaiter {
   public:
    explicit Awaiter(std::shared_ptr<Owner> owner) : owner_(std::move(owner)) {}
    Awaiter(const Awaiter&) = delete;
    ~Awaiter() { base().abandoned_ = true; }
    bool await_ready() const noexcept { return owner_->done(); }
    void await_suspend(std::coroutine_handle<> handle) { base().waiter_ = handle; }
    void await_resume() const noexcept {}

   private:
    AwaitedOutcomes& base() const { return *owner_; }
    std::shared_ptr<Owner> owner_;
  };

 protected:
  explicit AwaitedOutcomes(Executor& executor) : executor_(executor) {}

  // Call when the last outcome is in; `self` is kept alive until the resumption.
  static void resume_waiter(std::shared_ptr<AwaitedOutcomes> self) {
    if (!self->waiter_) return;
    Executor& executor = self->executor_;
    executor.post([self = std::move(self)] {
      if (!self->abandoned_) self->waiter_.resume();
    });
  }

 private:
  Executor& executor_;
  std::coroutine_handle<> waiter_;
  bool abandoned_ = false;  // the awaiting frame is gone
};

}  // namespace detail

class RequestBatch : public detail::AwaitedOutcomes {
 public:
  RequestBatch(std::size_t size, Executor& executor)
      : AwaitedOutcomes(executor), results_(size), remaining_(size) {}

  [[nodiscard]] std::size_t size() const { return results_.size(); }
  [[nodiscard]] bool done() const { return remaining_ == 0; }

  // Records request `index`'s outcome (the first one wins; later ones are ignored).
  // When it is the last, the waiting coroutine is resumed through the executor.
  static void complete(const std::shared_ptr<RequestBatch>& batch, std::size_t index,
                       Result<RedisReply> outcome) {
    RequestBatch& b = *batch;
    if (b.results_[index]) return;
    b.results_[index] = std::move(outcome);
    if (--b.remaining_ == 0) resume_waiter(batch);
  }

  // `co_await RequestBatch::wait(batch)` suspends until every outcome is in.
  using Awaiter = AwaitedOutcomes::Awaiter<RequestBatch>;
  [[nodiscard]] static Awaiter wait(std::shared_ptr<RequestBatch> batch) {
    return Awaiter(std::move(batch));
  }

  // REQUIRES: done().
  [[nodiscard]] std::vector<Result<RedisReply>> take() { return take_all(results_); }

 private:
  std::vector<std::optional<Result<RedisReply>>> results_;
  std::size_t remaining_;
};

// A batch of one, without vectors: the hot path of a single command.
class OneRequest : public detail::AwaitedOutcomes {
 public:
  explicit OneRequest(Executor& executor) : AwaitedOutcomes(executor) {}

  [[nodiscard]] bool done() const { return outcome_.has_value(); }

  // Records the outcome (the first one wins) and resumes the waiting coroutine
  // through the executor.
  static void complete(const std::shared_ptr<OneRequest>& request, Result<RedisReply> outcome) {
    if (request->outcome_) return;
    request->outcome_ = std::move(outcome);
    resume_waiter(request);
  }

  using Awaiter = AwaitedOutcomes::Awaiter<OneRequest>;
  [[nodiscard]] static Awaiter wait(std::shared_ptr<OneRequest> request) {
    return Awaiter(std::move(request));
  }

  // REQUIRES: done().
  [[nodiscard]] Result<RedisReply> take() { return std::move(*outcome_); }

 private:
  std::optional<Result<RedisReply>> outcome_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_REQUEST_BATCH_H_
