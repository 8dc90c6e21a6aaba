// LaxCounter on every backend: local instant increments, flushes that a strict
// reader sees, idempotent batches (a retried batch counts once), set/del/clear
// through the strict path, limits; and on real Redis, increments from several threads
// while the flusher runs (run under TSan by `make sanitizers`).
#include "distkit/core/counters/lax_counter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "distkit/core/counters/strict_counter.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using LaxCounterTest = test_support::BackendTest;

using test_support::eventually;

LaxCounterOptions options(std::string instance) {
  LaxCounterOptions o;
  o.prefix = "lax";
  o.instance_id = std::move(instance);
  return o;
}

TEST_P(LaxCounterTest, IncrementsAreLocalUntilFlushedThenVisibleToEveryone) {
  const bool virtual_time = GetParam() == "sim";
  backend_->run([virtual_time](RedisConnection& redis, Executor& ex) -> Task<void> {
    auto lax = LaxCounter::create(redis, ex, options("a"));
    EXPECT_TRUE(lax.ok()) << lax.status();
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    EXPECT_EQ(*(*lax)->inc("hits", 2), 2) << "the local view, at once";
    EXPECT_EQ(*(*lax)->inc("hits", 3), 5);
    EXPECT_EQ((*lax)->unacknowledged(), 5);
    EXPECT_TRUE((co_await (*lax)->flush()).ok());
    EXPECT_EQ((*lax)->unacknowledged(), 0);
    EXPECT_THAT(co_await strict.get("hits"), IsOkAndHolds(5))
        << "a strict reader sees the flushed sum";
    (void)co_await strict.inc("hits", 10);  // someone else
    co_await sleep_for(ex, milliseconds(50));
    EXPECT_THAT(co_await (*lax)->get("hits"), IsOkAndHolds(15))
        << "a stale local value is refreshed";
    EXPECT_EQ(*(*lax)->inc("hits"), 16);
    EXPECT_THAT(co_await (*lax)->get("hits"), IsOkAndHolds(16))
        << "local deltas stay on top of the read";
    // The flush task sends by itself (nothing here calls flush()): wait until Redis
    // acknowledged it. Only in virtual time is how soon a property of the code.
    const MonoTime start = ex.clock().now();
    EXPECT_TRUE(co_await eventually(ex, [&] { return (*lax)->unacknowledged() == 0; }))
        << "the flush task never sent the last increment";
    if (virtual_time) {
      EXPECT_LE(ex.clock().now() - start, milliseconds(100)) << "within the flush interval";
    }
    EXPECT_THAT(co_await strict.get("hits"), IsOkAndHolds(16));
    EXPECT_TRUE((co_await (*lax)->shutdown()).ok());
  });
}

TEST_P(LaxCounterTest, SetDelClearFlushFirstAndActAtOnce) {
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    auto lax = *LaxCounter::create(redis, ex, options("b"));
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    (void)lax->inc("k", 7);
    EXPECT_THAT(co_await lax->set("k", 100), IsOkAndHolds(100));
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(100))
        << "the pending 7 was flushed before the set";
    (void)lax->inc("k", 1);
    EXPECT_THAT(co_await lax->del("k"), IsOkAndHolds(101))
        << "del flushes, then returns the value it removed";
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(0));
    (void)lax->inc("x", 4);
    (void)co_await strict.inc("never-touched-here", 9);
    EXPECT_TRUE((co_await lax->clear()).ok());
    EXPECT_THAT(co_await strict.get("x"), IsOkAndHolds(0));
    EXPECT_THAT(co_await strict.get("never-touched-here"), IsOkAndHolds(0))
        << "clear removes the whole family";
    EXPECT_THAT(co_await lax->get("x"), IsOkAndHolds(0));
    EXPECT_TRUE((co_await lax->shutdown()).ok());
  });
}

// A batch retried after an unknown outcome must count once: replay the flush script
// with the same batch number, as the counter does.
TEST_P(LaxCounterTest, ABatchNumberIsAppliedAtMostOnce) {
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    auto lax = *LaxCounter::create(redis, ex, options("c"));
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    (void)lax->inc("k", 5);
    EXPECT_TRUE((co_await lax->flush()).ok());
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(5));
    // Batch 1 again (what a retry after UNKNOWN sends), then batch 2.
    const RedisScript& flush = LaxCounter::flush_script_for_tests();
    const std::vector<std::string> keys = {"{lax}:strict_counter", "{lax}:lax_batch:c"};
    const std::string session = "77";
    std::vector<std::string> first = {session, "1", "60000", "k", "5"};
    (void)co_await redis.eval(flush, keys, first);
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(10));
    std::vector<std::string> again = {session, "1", "60000", "k", "5"};
    Result<RedisReply> retried = co_await redis.eval(flush, keys, again);
    EXPECT_TRUE(retried.ok()) << retried.status();
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(10)) << "not counted twice";
    std::vector<std::string> next = {session, "2", "60000", "k", "5"};
    (void)co_await redis.eval(flush, keys, next);
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(15));
    // A restarted process with the same instance id numbers from 1 again: its new
    // session makes batch 1 fresh.
    std::vector<std::string> restarted = {"78", "1", "60000", "k", "5"};
    (void)co_await redis.eval(flush, keys, restarted);
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(20));
    EXPECT_TRUE((co_await lax->shutdown()).ok());
  });
}

TEST_P(LaxCounterTest, LimitsAndBadInput) {
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    LaxCounterOptions o = options("d");
    o.max_keys = 2;
    auto lax = *LaxCounter::create(redis, ex, o);
    EXPECT_TRUE(lax->inc("a").ok());
    EXPECT_TRUE(lax->inc("b").ok());
    EXPECT_EQ(lax->inc("c").status().code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(lax->inc("a:b").status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(lax->inc("a", std::numeric_limits<std::int64_t>::max() - 1).ok());
    EXPECT_EQ(lax->inc("a", 1).status().code(), StatusCode::kOutOfRange) << "local overflow";
    EXPECT_EQ(LaxCounter::create(redis, ex, options("bad id!")).status().code(),
              StatusCode::kInvalidArgument);
    (void)co_await lax->shutdown();
  });
}

// A flushed delta the script rejects is dropped, flush() says why by its code, and the
// rest of the batch is applied: overflow is kOutOfRange, a field that holds no int64
// (something else wrote it) kFailedPrecondition, on every backend alike.
TEST_P(LaxCounterTest, ARejectedDeltaIsDroppedWithItsCodeAndTheRestApplies) {
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    LaxCounterOptions o = options("r");
    o.flush_interval = std::chrono::hours(1);  // only the explicit flushes below send
    auto lax = *LaxCounter::create(redis, ex, o);
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    EXPECT_THAT(co_await strict.set("full", std::numeric_limits<std::int64_t>::max()),
                IsOkAndHolds(std::numeric_limits<std::int64_t>::max()));
    EXPECT_TRUE((co_await redis.command("HSET", strict.redis_key(), "alien", "abc")).ok());
    EXPECT_TRUE(lax->inc("full", 1).ok());
    EXPECT_TRUE(lax->inc("fine", 2).ok());
    Status overflowed = co_await lax->flush();
    EXPECT_EQ(overflowed.code(), StatusCode::kOutOfRange) << overflowed;
    EXPECT_THAT(co_await strict.get("full"),
                IsOkAndHolds(std::numeric_limits<std::int64_t>::max()));
    EXPECT_TRUE(lax->inc("alien", 1).ok());
    EXPECT_TRUE(lax->inc("fine", 3).ok());
    Status foreign = co_await lax->flush();
    EXPECT_EQ(foreign.code(), StatusCode::kFailedPrecondition) << foreign;
    Result<RedisReply> raw = co_await redis.command("HGET", strict.redis_key(), "alien");
    EXPECT_EQ(*raw, RedisReply::bulk_string("abc")) << "nothing written over it";
    EXPECT_THAT(co_await strict.get("fine"), IsOkAndHolds(5)) << "the rest of both batches applied";
    EXPECT_TRUE((co_await lax->flush()).ok()) << "the rejected deltas were dropped, not kept";
    (void)co_await lax->shutdown();
  });
}

// Near INT64_MAX the local view (Redis's value plus what is pending) must not overflow:
// a delta it could not show is refused before it is buffered.
TEST_P(LaxCounterTest, ADeltaTheLocalViewCannotShowIsRefusedNotWrapped) {
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    LaxCounterOptions o = options("near-max");
    o.flush_interval = std::chrono::hours(1);  // nothing flushes behind the test's back
    auto lax = *LaxCounter::create(redis, ex, o);
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    EXPECT_THAT(co_await strict.set("k", kMax - 1), IsOkAndHolds(kMax - 1));
    EXPECT_THAT(co_await lax->get("k"), IsOkAndHolds(kMax - 1)) << "the view reads Redis";
    EXPECT_THAT(lax->inc("k", 5), StatusIs(StatusCode::kOutOfRange));
    EXPECT_EQ(lax->unacknowledged(), 0) << "the refused delta was not buffered";
    EXPECT_THAT(lax->inc("k", 1), IsOkAndHolds(kMax));
    EXPECT_TRUE((co_await lax->flush()).ok());
    EXPECT_THAT(co_await strict.get("k"), IsOkAndHolds(kMax));
    (void)co_await lax->shutdown();
  });
}

TEST_P(LaxCounterTest, ManyThreadsIncrementWhileTheFlusherRuns) {
  if (GetParam() == "sim") GTEST_SKIP() << "the simulator runs no real threads";
  backend_->run([](RedisConnection& redis, Executor& ex) -> Task<void> {
    auto lax = *LaxCounter::create(redis, ex, options("e"));
    StrictCounter strict = *StrictCounter::create(redis, "lax");
    std::vector<std::thread> threads;
    std::atomic<int> finished{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&lax, &finished, t] {
        for (int i = 0; i < 20'000; ++i)
          (void)lax->inc(i % 2 ? "even" : "odd" + std::to_string(t % 2));
        ++finished;
      });
    }
    // The flusher runs while they hammer (the threads never wait on it). Wait for them
    // without blocking the runtime thread, so its requests never wait on a join; their
    // work is finite, so there is no cap (a deadlock would time the test out).
    while (finished.load() < 4)
      co_await sleep_for(ex, milliseconds(1));
    for (auto& t : threads)
      t.join();
    EXPECT_TRUE((co_await lax->shutdown()).ok());
    const std::int64_t total = value_or_failure(co_await strict.get("even")) +
                               value_or_failure(co_await strict.get("odd0")) +
                               value_or_failure(co_await strict.get("odd1"));
    EXPECT_EQ(total, 80'000) << "no increment lost or counted twice";
    EXPECT_GE(lax->batches_sent(), 1u);
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(LaxCounterTest);

}  // namespace
}  // namespace distkit
