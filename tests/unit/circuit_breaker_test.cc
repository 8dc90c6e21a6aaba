// The resilient limiters' circuit breaker hears about every call it let through: a
// probe that ends in a server error (LOADING after a restart), in an answer about the
// request, or whose caller is cancelled must not leave the breaker half-open forever.
// A scripted remote stands in for Redis.
#include "distkit/core/limiters/circuit_breaker.h"

#include <gtest/gtest.h>

#include <coroutine>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/limiters/resilient_limiter.h"
#include "distkit/tests/support/manual_clock.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs posted work when told; its clock is the test's.
class StepExecutor final : public Executor {
 public:
  explicit StepExecutor(const Clock& clock) : clock_(clock) {}
  const Clock& clock() const override { return clock_; }
  void post(Callback fn) override { ready_.push_back(std::move(fn)); }
  TimerId schedule_at(MonoTime, Callback fn) override {
    ready_.push_back(std::move(fn));
    return 0;
  }
  bool cancel(TimerId) override { return false; }
  void drain() {
    while (!ready_.empty()) {
      Callback fn = std::move(ready_.front());
      ready_.pop_front();
      fn();
    }
  }

 private:
  const Clock& clock_;
  std::deque<Callback> ready_;
};

// Suspends forever: a Redis that never answers.
struct Never {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

struct Limit {
  [[nodiscard]] Status validate() const { return Status(); }
};
struct Decision {
  bool allowed = false;
};

// Answers from a script; when the script is empty, never answers.
struct ScriptedRemote {
  std::deque<Result<Decision>> answers;
  int asked = 0;
};

struct ScriptedPolicy {
  using Remote = ScriptedRemote;
  using Local = int;  // no fallback in these tests
  using Limit = distkit::Limit;
  using Decision = distkit::Decision;
  static Task<Result<Decision>> ask(ScriptedRemote& remote, std::string, Limit, std::int64_t) {
    ++remote.asked;
    if (remote.answers.empty()) co_await Never{};
    Result<Decision> answer = remote.answers.front();
    remote.answers.pop_front();
    co_return answer;
  }
  static Result<Decision> ask_local(int&, std::string_view, const Limit&, std::int64_t) {
    return internal_error("no fallback");
  }
  static Decision without_answer(const Limit&, bool allowed, Duration) { return {allowed}; }
};

using Limiter = ResilientLimiter<ScriptedPolicy>;

struct Fixture {
  test_support::ManualClock clock{seconds(100)};
  StepExecutor executor{clock};
  ScriptedRemote remote;
  Limiter limiter{remote,
                  clock,
                  {.mode = FailureMode::kFailClosed,
                   .breaker = {.failures_to_open = 1, .open_for = seconds(1)}}};

  // One check, run to completion (it must not wait on Redis).
  Result<Limiter::Outcome> check() {
    std::optional<Result<Limiter::Outcome>> out;
    TaskScope scope;
    spawn(executor, &scope, limiter.check("k", Limit{}),
          [&](Result<Limiter::Outcome> r) { out = std::move(r); });
    executor.drain();
    EXPECT_TRUE(out.has_value()) << "the check waited on a Redis that had no answer";
    return out ? std::move(*out) : Result<Limiter::Outcome>(internal_error("no answer"));
  }
  // Opens the breaker (one failure) and waits out open_for: the next call is the probe.
  void open_then_wait() {
    remote.answers.push_back(unavailable_error("down"));
    EXPECT_EQ(check()->decided_by, DecidedBy::kFailClosed);
    EXPECT_EQ(limiter.breaker().state(), CircuitBreaker::State::kOpen);
    clock.advance(seconds(1));
  }
};

TEST(CircuitBreakerProbe, ASuccessCloses) {
  Fixture f;
  f.open_then_wait();
  f.remote.answers.push_back(Decision{true});
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kRedis);
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kClosed);
}

TEST(CircuitBreakerProbe, UnavailableAndUnknownReopen) {
  for (Status failure : {unavailable_error("down"), unknown_outcome_error("lost")}) {
    Fixture f;
    f.open_then_wait();
    f.remote.answers.push_back(failure);
    EXPECT_EQ(f.check()->decided_by, DecidedBy::kFailClosed);
    EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kOpen) << failure;
  }
}

// After a restart Redis answers LOADING for a while: the probe failed, the breaker
// opens again and probes after open_for (it used to stay half-open, asking no more).
TEST(CircuitBreakerProbe, AServerErrorReopensAndRedisIsAskedAgainLater) {
  Fixture f;
  f.open_then_wait();
  f.remote.answers.push_back(server_error("LOADING Redis is loading the dataset in memory"));
  Result<Limiter::Outcome> during = f.check();
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->decided_by, DecidedBy::kFailClosed) << "the policy decides meanwhile";
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kOpen);
  f.clock.advance(seconds(1));
  f.remote.answers.push_back(Decision{true});
  const int asked = f.remote.asked;
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kRedis);
  EXPECT_EQ(f.remote.asked, asked + 1);
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kClosed);
}

// An answer about the request says nothing about Redis: the next call probes at once.
TEST(CircuitBreakerProbe, AnAnswerAboutTheRequestReleasesTheProbe) {
  Fixture f;
  f.open_then_wait();
  f.remote.answers.push_back(out_of_range_error("the counter would overflow"));
  EXPECT_EQ(f.check().status().code(), StatusCode::kOutOfRange) << "returned as it is";
  f.remote.answers.push_back(Decision{true});
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kRedis) << "probed again without waiting";
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kClosed);
}

// The probe's caller goes away (its frame destroyed while Redis has not answered).
TEST(CircuitBreakerProbe, ACancelledProbeReleasesIt) {
  Fixture f;
  f.open_then_wait();
  {
    TaskScope scope;
    spawn(f.executor, &scope, f.limiter.check("k", Limit{}));
    f.executor.drain();
    EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kHalfOpen);
  }  // the probe's frame is destroyed here
  f.remote.answers.push_back(Decision{true});
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kRedis) << "a new probe went to Redis";
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kClosed);
}

// Only the probe's own end releases it: a call let through before the breaker opened
// that ends without a verdict while a probe is out must not start a second probe.
TEST(CircuitBreakerProbe, AnOlderCallWithoutAVerdictDoesNotReleaseTheProbe) {
  Fixture f;
  TaskScope older, probe;
  spawn(f.executor, &older, f.limiter.check("k", Limit{}));  // closed: goes out, no answer
  f.executor.drain();
  f.remote.answers.push_back(unavailable_error("down"));
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kFailClosed);  // opens it
  f.clock.advance(seconds(1));
  spawn(f.executor, &probe, f.limiter.check("k", Limit{}));  // the probe, no answer yet
  f.executor.drain();
  ASSERT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kHalfOpen);
  older.destroy_all();  // the older call's caller goes away
  const int asked = f.remote.asked;
  EXPECT_EQ(f.check()->decided_by, DecidedBy::kFailClosed) << "still one probe at a time";
  EXPECT_EQ(f.remote.asked, asked);
}

// WRONGTYPE (a key someone else wrote) is about this request, not Redis's health.
TEST(CircuitBreakerProbe, AnErrorAboutTheRequestDoesNotOpenIt) {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.remote.answers.push_back(
        server_error("WRONGTYPE Operation against a key holding the wrong kind of value"));
    EXPECT_EQ(f.check().status().code(), StatusCode::kServerError) << "returned as it is";
  }
  EXPECT_EQ(f.limiter.breaker().state(), CircuitBreaker::State::kClosed);
}

}  // namespace
}  // namespace distkit
