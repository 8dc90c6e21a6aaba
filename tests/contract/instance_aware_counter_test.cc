// StrictInstanceAwareCounter's contract on every backend (simulator, redis-server,
// Redis Cluster), with the seed project's defects as named regression tests
// (reference/seeds.md A.14.1-3, 12-16). Several counters on one connection play
// several instances; an instance "dies" when its heartbeats stop (shutdown) and it
// makes no further calls.
#include "distkit/core/counters/instance_aware_counter.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "distkit/core/counters/lax_instance_aware_counter.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using InstanceAwareCounterTest = test_support::BackendTest;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
// Longer than any test: on a real server a live instance whose heartbeat is late
// (a slow, loaded machine) must never be taken for dead. Deaths are made explicit.
constexpr Duration kThreshold = std::chrono::seconds(60);

std::unique_ptr<StrictInstanceAwareCounter> make(RedisConnection& redis, Executor& executor,
                                                 const std::string& prefix, const std::string& id,
                                                 std::size_t reap_batch = 256,
                                                 bool background_heartbeat = true) {
  InstanceAwareCounterOptions options;
  options.prefix = prefix;
  options.instance_id = id;
  options.session = 1;
  options.dead_instance_threshold = kThreshold;
  options.reap_batch = reap_batch;
  options.background_heartbeat = background_heartbeat;
  auto made = StrictInstanceAwareCounter::create(redis, executor, options);
  EXPECT_TRUE(made.ok()) << made.status();
  return std::move(*made);
}

// Dates `dead`'s last heartbeat back past any threshold, so that the next heartbeat
// of another instance finds it dead. (The server's clock decides death: waiting out
// a short threshold instead would race a live instance's late heartbeats on a slow
// machine.)
Task<void> age_out(RedisConnection& redis, const StrictInstanceAwareCounter& dead) {
  Result<RedisReply> aged =
      co_await redis.command("ZADD", dead.family() + ":instances", "XX", 0, dead.owner());
  EXPECT_TRUE(aged.ok() && aged->is_integer()) << aged.status();
}

// Lets `dead` be found dead: stops its heartbeats, then ages it out.
Task<void> die(RedisConnection& redis, StrictInstanceAwareCounter& dead) {
  EXPECT_TRUE((co_await dead.shutdown()).ok());
  co_await age_out(redis, dead);
}

TEST(InstanceAwareCounterOptions, InvalidOptionsAreRejectedAndTheHeartbeatFollowsTheThreshold) {
  struct NoRedis : RedisConnection {
    Task<std::vector<Result<RedisReply>>> execute_pipeline(std::vector<RedisCommand> c) override {
      co_return std::vector<Result<RedisReply>>(c.size(), unavailable_error("none"));
    }
  } redis;
  struct StoppedClock : Clock {
    MonoTime now() const override { return MonoTime(); }
    WallTime wall_now() const override { return WallTime(); }
  };
  struct NoExecutor : Executor {  // timers never fire: no heartbeat runs
    const Clock& clock() const override { return clock_; }
    void post(Callback) override {}
    TimerId schedule_at(MonoTime, Callback) override { return 1; }
    bool cancel(TimerId) override { return true; }
    StoppedClock clock_;
  } executor;
  InstanceAwareCounterOptions options;
  options.prefix = "p";
  auto made = StrictInstanceAwareCounter::create(redis, executor, options);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ((*made)->heartbeat_interval(), std::chrono::seconds(10)) << "30 s / 3 by default";
  EXPECT_EQ((*made)->instance_id().size(), 32u) << "a random id when none is given";
  EXPECT_EQ((*made)->family(), "{p}:instance_aware_counter");
  options.dead_instance_threshold = milliseconds(900);
  EXPECT_EQ((*StrictInstanceAwareCounter::create(redis, executor, options))->heartbeat_interval(),
            milliseconds(300))
      << "derived from the threshold, unlike the original's fixed 15 s (A.14.16)";
  auto rejected = [&](InstanceAwareCounterOptions o) {
    return StrictInstanceAwareCounter::create(redis, executor, o).status().code() ==
           StatusCode::kInvalidArgument;
  };
  InstanceAwareCounterOptions bad = options;
  bad.prefix = "a:b";
  EXPECT_TRUE(rejected(bad));
  bad = options;
  bad.instance_id = "has space";
  EXPECT_TRUE(rejected(bad));
  bad = options;
  bad.heartbeat_interval = milliseconds(900);
  EXPECT_TRUE(rejected(bad)) << "a heartbeat as long as the threshold looks dead";
  bad = options;
  bad.reap_batch = 0;
  EXPECT_TRUE(rejected(bad));
}

TEST_P(InstanceAwareCounterTest, SlicesAddUpToTheCumulative) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "ia", "a");
    auto b = make(redis, executor, "ia", "b");
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{0, 0})))
        << "a missing key reads (0, 0)";
    EXPECT_THAT(co_await a->inc("k", 10), IsOkAndHolds((SliceValue{10, 10})));
    EXPECT_THAT(co_await b->inc("k", 5), IsOkAndHolds((SliceValue{15, 5})));
    EXPECT_THAT(co_await a->dec("k", 3), IsOkAndHolds((SliceValue{12, 7})));
    EXPECT_THAT(co_await b->get("k"), IsOkAndHolds((SliceValue{12, 5})));
    EXPECT_THAT(co_await b->set_on_instance("k", 1), IsOkAndHolds((SliceValue{8, 1})));
    EXPECT_THAT(co_await a->del_on_instance("k"),
                IsOkAndHolds((SliceChange{{1, 0}, {8, 7}, true})));
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{1, 0})));
    EXPECT_THAT(co_await b->inc("k", -4), IsOkAndHolds((SliceValue{-3, -3})))
        << "slices may go negative";
    EXPECT_EQ((co_await a->inc("bad:key")).status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
  });
}

TEST_P(InstanceAwareCounterTest, ConditionalOperationsJudgeTheCumulativeOrTheSlice) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "cond", "a");
    auto b = make(redis, executor, "cond", "b");
    (void)co_await b->inc("k", 5);
    EXPECT_THAT(co_await a->inc_if("k", Condition::eq(0), 1),
                IsOkAndHolds((SliceChange{{5, 0}, {5, 0}, false})))
        << "inc_if judges the cumulative (5), and a miss writes nothing";
    EXPECT_THAT(co_await a->inc_if("k", Condition::eq(5), 2),
                IsOkAndHolds((SliceChange{{7, 2}, {5, 0}, true})));
    EXPECT_THAT(co_await a->set_if("k", Condition::lt(7), 100),
                IsOkAndHolds((SliceChange{{7, 2}, {7, 2}, false})));
    EXPECT_THAT(co_await a->set_on_instance_if("k", Condition::eq(2), 4),
                IsOkAndHolds((SliceChange{{9, 4}, {7, 2}, true})))
        << "set_on_instance_if judges this instance's slice";
    EXPECT_THAT(co_await a->set_on_instance_if("k", Condition::gt(4), 0),
                IsOkAndHolds((SliceChange{{9, 4}, {9, 4}, false})));
    EXPECT_THAT(co_await a->set_if("k", Condition::gt(8), 100),
                IsOkAndHolds((SliceChange{{100, 100}, {9, 4}, true})));
    EXPECT_THAT(co_await b->get("k"), IsOkAndHolds((SliceValue{100, 0})))
        << "b's slice went stale with the set";
    EXPECT_THAT(co_await b->set_on_instance_if("k", Condition::eq(0), 1),
                IsOkAndHolds((SliceChange{{101, 1}, {100, 0}, true})))
        << "a stale slice compares as 0";
    EXPECT_THAT(co_await b->del("k"), IsOkAndHolds((SliceValue{101, 1})));
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{0, 0})));
    EXPECT_THAT(co_await a->inc("k"), IsOkAndHolds((SliceValue{1, 1})))
        << "a's old slice does not come back";
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
  });
}

TEST_P(InstanceAwareCounterTest, BatchesKeepInputOrderAndApplyDuplicatesInOrder) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "batch", "a");
    std::vector<StrictCounter::Increment> incs = {
        {"x", 1}, {"y", 10}, {"x", 2}, {"bad:key", 1}, {"x", 3, Condition::eq(3)}};
    std::vector<Result<SliceChange>> got = co_await a->inc_all(std::move(incs));
    EXPECT_EQ(got.size(), 5u);
    EXPECT_EQ(*got[0], (SliceChange{{1, 1}, {0, 0}, true}));
    EXPECT_EQ(*got[2], (SliceChange{{3, 3}, {1, 1}, true}));
    EXPECT_EQ(got[3].status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(*got[4], (SliceChange{{6, 6}, {3, 3}, true}));
    std::vector<std::string> keys = {"y", "none", "x"};
    std::vector<Result<SliceValue>> values = co_await a->get_all(std::move(keys));
    EXPECT_EQ(*values[0], (SliceValue{10, 10}));
    EXPECT_EQ(*values[1], (SliceValue{0, 0}));
    EXPECT_EQ(*values[2], (SliceValue{6, 6}));
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

// A.14.14: exact int64 over the whole range, overflow is an error that writes nothing.
TEST_P(InstanceAwareCounterTest, ValuesAreExactOverTheWholeInt64Range) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "big", "a");
    auto b = make(redis, executor, "big", "b");
    const std::int64_t two_53 = std::int64_t{1} << 53;
    EXPECT_THAT(co_await a->set("k", two_53 + 1),
                IsOkAndHolds((SliceValue{two_53 + 1, two_53 + 1})));
    EXPECT_THAT(co_await b->inc("k", 1), IsOkAndHolds((SliceValue{two_53 + 2, 1})));
    EXPECT_THAT(co_await a->set_on_instance("k", kMax - 1),
                IsOkAndHolds((SliceValue{kMax, kMax - 1})));
    Result<SliceValue> overflow = co_await b->inc("k", 1);
    EXPECT_EQ(overflow.status().code(), StatusCode::kOutOfRange) << overflow.status();
    EXPECT_THAT(co_await b->get("k"), IsOkAndHolds((SliceValue{kMax, 1}))) << "nothing written";
    EXPECT_THAT(co_await b->inc("k", -2), IsOkAndHolds((SliceValue{kMax - 2, -1})));
    EXPECT_THAT(co_await a->set("m", kMin), IsOkAndHolds((SliceValue{kMin, kMin})));
    EXPECT_EQ((co_await a->dec("m")).status().code(), StatusCode::kOutOfRange);
    EXPECT_EQ((co_await a->dec("m", kMin)).status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(co_await b->inc_if("m", Condition::lt(kMin + 1), kMax),
                IsOkAndHolds((SliceChange{{-1, kMax}, {kMin, 0}, true})));
    EXPECT_THAT(co_await a->del_on_instance("m"),
                IsOkAndHolds((SliceChange{{kMax, 0}, {-1, kMin}, true})))
        << "removing INT64_MIN is exact";
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
  });
}

// A.14.1: a set (or del) left other instances' old slices in Redis, and the reaper
// subtracted them when those instances died: 95 instead of 100, -6 instead of 1.
TEST_P(InstanceAwareCounterTest, ADeadInstancesStaleSliceIsNeverSubtracted) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "stale", "a");
    auto b = make(redis, executor, "stale", "b");
    (void)co_await a->inc("set", 10);
    (void)co_await b->inc("set", 5);
    (void)co_await a->set("set", 100);
    (void)co_await a->inc("del", 3);
    (void)co_await b->inc("del", 7);
    (void)co_await a->del("del");
    (void)co_await a->inc("del", 1);
    co_await die(redis, *b);
    EXPECT_TRUE((co_await a->heartbeat()).ok());
    EXPECT_THAT(co_await a->get("set"), IsOkAndHolds((SliceValue{100, 100})));
    EXPECT_THAT(co_await a->get("del"), IsOkAndHolds((SliceValue{1, 1})));
    EXPECT_EQ(a->slices_reaped(), 0u) << "both of b's slices were stale: nothing subtracted";
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

// A.14.2: clear() deleted the epochs, and other live instances' recovery put their
// old slices back (A inc 3, B inc 5, A clear, B inc 1 gave 6).
TEST_P(InstanceAwareCounterTest, ClearCannotBeUndoneByOtherInstances) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "clear", "a");
    auto b = make(redis, executor, "clear", "b");
    (void)co_await a->inc("k", 3);
    (void)co_await b->inc("k", 5);
    (void)co_await b->inc("j", 2);
    EXPECT_TRUE((co_await a->clear()).ok());
    EXPECT_THAT(co_await b->inc("k", 1), IsOkAndHolds((SliceValue{1, 1})));
    // Even if b is then found dead and recovers everything it remembers.
    co_await die(redis, *b);
    EXPECT_TRUE((co_await a->heartbeat()).ok());
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{0, 0}))) << "b's slice reaped";
    EXPECT_THAT(co_await b->get("j"), IsOkAndHolds((SliceValue{0, 0})))
        << "b recovered, j stays cleared";
    EXPECT_THAT(co_await b->get("k"), IsOkAndHolds((SliceValue{1, 1})))
        << "its post-clear slice is back";
    EXPECT_EQ(b->recoveries(), 1u);
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

// A.14.3: an instance found dead while only slow restored just the first key it
// touched; every other key's slice was lost for good.
TEST_P(InstanceAwareCounterTest, AReapedInstanceThatReturnsRestoresEveryKey) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "back", "a");
    auto b = make(redis, executor, "back", "b");
    (void)co_await a->inc("k1", 1);
    (void)co_await b->inc("k1", 5);
    (void)co_await b->inc("k2", 7);
    (void)co_await b->inc("k3", -2);
    co_await die(redis, *b);  // b stalls: no heartbeats, no calls
    EXPECT_TRUE((co_await a->heartbeat()).ok());
    EXPECT_THAT(co_await a->get("k1"), IsOkAndHolds((SliceValue{1, 1}))) << "b's slices reaped";
    EXPECT_THAT(co_await a->get("k2"), IsOkAndHolds((SliceValue{0, 0})));
    (void)co_await a->set("k3", 10);  // b's k3 slice is stale now: not restored
    EXPECT_THAT(co_await b->inc("k1", 1), IsOkAndHolds((SliceValue{7, 6}))) << "b comes back";
    EXPECT_THAT(co_await a->get("k2"), IsOkAndHolds((SliceValue{7, 0})))
        << "and restores every key";
    EXPECT_THAT(co_await a->get("k3"), IsOkAndHolds((SliceValue{10, 10})));
    EXPECT_EQ(b->recoveries(), 1u);
    EXPECT_EQ(b->stale_slices_dropped(), 1u);
    EXPECT_NE(b->owner(), "b.1") << "as a new incarnation";
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

// A.14.12-13: the reaper unpacked every key of the family into one HMGET (failing
// beyond ~8000 keys, for every operation, while a dead instance existed) and did
// O(keys) work inside every script. Here a dead instance with 3000 slices is removed
// in steps of at most reap_batch slices, and operations keep working meanwhile.
TEST_P(InstanceAwareCounterTest, ReapingIsBoundedPerScriptAndNeverBlocksOperations) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto b = make(redis, executor, "many", "b");
    constexpr int kKeys = 3000;
    for (int start = 0; start < kKeys; start += 500) {
      std::vector<StrictCounter::Increment> incs;
      for (int i = start; i < start + 500; ++i)
        incs.push_back({"k" + std::to_string(i), 2});
      for (const auto& r : co_await b->inc_all(std::move(incs)))
        EXPECT_TRUE(r.ok()) << r.status();
    }
    co_await die(redis, *b);
    // `a` starts now and heartbeats only when told, so the one below is the first to reap.
    auto a = make(redis, executor, "many", "a", /*reap_batch=*/20, /*background=*/false);
    (void)co_await a->inc("k7", 1);
    EXPECT_TRUE((co_await a->heartbeat()).ok());
    Result<RedisReply> left =
        co_await redis.command("HLEN", "{many}:instance_aware_counter:slices:b.1");
    EXPECT_EQ(left.value_or(RedisReply::nil()), RedisReply::integer(kKeys - 64 * 20))
        << "one heartbeat: 64 steps of 20 slices";
    const SliceValue during =
        value_or_failure(co_await a->inc("k7", 1));  // operations go on meanwhile
    EXPECT_EQ(during.slice, 2);
    EXPECT_TRUE(during.cumulative == 4 || during.cumulative == 2)
        << "b's k7 slice is reaped or not yet, depending on the hash's scan order";
    for (int i = 0; i < 5; ++i)
      EXPECT_TRUE((co_await a->heartbeat()).ok());
    EXPECT_EQ(a->slices_reaped(), static_cast<std::uint64_t>(kKeys));
    EXPECT_THAT(co_await a->get("k7"), IsOkAndHolds((SliceValue{2, 2})));
    EXPECT_THAT(co_await a->get("k2999"), IsOkAndHolds((SliceValue{0, 0})));
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

TEST_P(InstanceAwareCounterTest, ClearOnInstanceRemovesOnlyThisInstancesSlices) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make(redis, executor, "mine", "a");
    auto b = make(redis, executor, "mine", "b");
    (void)co_await a->inc("k", 3);
    (void)co_await b->inc("k", 5);
    (void)co_await b->inc("j", 4);
    EXPECT_TRUE((co_await b->clear_on_instance()).ok());
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{3, 3})));
    EXPECT_THAT(co_await a->get("j"), IsOkAndHolds((SliceValue{0, 0})));
    EXPECT_THAT(co_await b->inc("k", 1), IsOkAndHolds((SliceValue{4, 1})));
    EXPECT_EQ(b->recoveries(), 0u) << "a retirement is not a recovery: nothing comes back";
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
  });
}

TEST_P(InstanceAwareCounterTest, FamiliesAreSeparateAndSurviveAScriptFlush) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto one = make(redis, executor, "one", "a");
    auto two = make(redis, executor, "two", "a");
    (void)co_await one->inc("k", 5);
    (void)co_await redis.command("SCRIPT", "FLUSH");
    EXPECT_THAT(co_await one->inc("k", 1), IsOkAndHolds((SliceValue{6, 6})));
    EXPECT_THAT(co_await two->get("k"), IsOkAndHolds((SliceValue{0, 0})));
    EXPECT_TRUE((co_await one->shutdown()).ok());
    EXPECT_TRUE((co_await two->shutdown()).ok());
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(InstanceAwareCounterTest);

// ---- LaxInstanceAwareCounter ---------------------------------------------------------

using LaxInstanceAwareCounterTest = test_support::BackendTest;

// An interval no test lasts: only explicit flushes (and the ones set, del and clear
// make first) send anything, so what a test asserts cannot depend on when a
// background flush happens to run on a real runtime.
constexpr Duration kNoBackgroundFlush = std::chrono::hours(24);

std::unique_ptr<LaxInstanceAwareCounter> make_lax(
    RedisConnection& redis, Executor& executor, const std::string& prefix, const std::string& id,
    Duration flush_interval = LaxInstanceAwareCounterOptions{}.flush_interval) {
  LaxInstanceAwareCounterOptions options;
  options.prefix = prefix;
  options.instance_id = id;
  options.session = 1;
  options.dead_instance_threshold = kThreshold;
  options.flush_interval = flush_interval;
  auto made = LaxInstanceAwareCounter::create(redis, executor, options);
  EXPECT_TRUE(made.ok()) << made.status();
  return std::move(*made);
}

TEST_P(LaxInstanceAwareCounterTest, IncrementsAreLocalUntilFlushedIntoTheSlice) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make_lax(redis, executor, "lax", "a");
    auto b = make_lax(redis, executor, "lax", "b");
    EXPECT_EQ(a->strict().family(), "{lax}:lax_instance_aware_counter");
    EXPECT_EQ(*a->inc("k", 3), (SliceValue{3, 3})) << "the local view, at once";
    EXPECT_EQ(*b->inc("k", 4), (SliceValue{4, 4}));
    EXPECT_EQ(a->unacknowledged(), 3);
    EXPECT_TRUE((co_await a->flush()).ok());
    EXPECT_TRUE((co_await b->flush()).ok());
    EXPECT_EQ(a->unacknowledged(), 0);
    co_await sleep_for(executor, milliseconds(30));  // older than flush_interval: re-read
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{7, 3})));
    EXPECT_EQ(*a->inc("k", 1), (SliceValue{8, 4}));
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{8, 4}))) << "fresh: served locally";
    EXPECT_EQ(a->inc("a:b").status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
    EXPECT_EQ(a->unacknowledged(), 0) << "shutdown flushes";
  });
}

TEST_P(LaxInstanceAwareCounterTest, SetDelAndClearFlushFirstThenActAtOnce) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make_lax(redis, executor, "laxset", "a", kNoBackgroundFlush);
    auto b = make_lax(redis, executor, "laxset", "b", kNoBackgroundFlush);
    (void)a->inc("k", 5);
    (void)b->inc("k", 2);
    EXPECT_THAT(co_await b->set("k", 100), IsOkAndHolds((SliceValue{100, 100})))
        << "b's own pending 2 went first, then the set replaced it";
    EXPECT_EQ(a->unacknowledged(), 5) << "b's set does not flush a";
    EXPECT_TRUE((co_await a->flush()).ok());
    EXPECT_THAT(co_await a->get("k"), IsOkAndHolds((SliceValue{105, 5})))
        << "a's delta came after b's set: added to a fresh slice, not to the stale one";
    (void)a->inc("k", 1);
    EXPECT_THAT(co_await a->del_on_instance("k"),
                IsOkAndHolds((SliceChange{{100, 0}, {106, 6}, true})));
    EXPECT_THAT(co_await a->set_on_instance("k", 7), IsOkAndHolds((SliceValue{107, 7})));
    (void)b->inc("j", 1);
    EXPECT_THAT(co_await b->del("k"), IsOkAndHolds((SliceValue{107, 100})));
    EXPECT_EQ(b->unacknowledged(), 0) << "del flushed b's pending j first";
    EXPECT_TRUE((co_await b->clear()).ok());
    EXPECT_THAT(co_await a->get("j"), IsOkAndHolds((SliceValue{0, 0})))
        << "b's j was flushed, then cleared";
    EXPECT_TRUE((co_await a->shutdown()).ok());
    EXPECT_TRUE((co_await b->shutdown()).ok());
  });
}

TEST_P(LaxInstanceAwareCounterTest, ADeadInstancesFlushedSlicesLeaveTheCumulative) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make_lax(redis, executor, "laxdead", "a");
    auto b = make_lax(redis, executor, "laxdead", "b");
    (void)a->inc("k", 1);
    (void)b->inc("k", 10);
    EXPECT_TRUE((co_await b->shutdown()).ok());  // flushed, then silent
    co_await age_out(redis, b->strict());
    EXPECT_TRUE((co_await a->flush()).ok()) << "an instance heartbeats once it has a slice";
    EXPECT_TRUE((co_await a->strict().heartbeat()).ok());
    EXPECT_THAT(co_await a->strict().get("k"), IsOkAndHolds((SliceValue{1, 1})))
        << "b's 10 left the cumulative in Redis";
    EXPECT_GE(a->strict().slices_reaped(), 1u);
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

TEST_P(LaxInstanceAwareCounterTest, ManyThreadsIncrementWhileTheFlusherRuns) {
  if (GetParam() == "sim") GTEST_SKIP() << "the simulator runs no real threads";
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto a = make_lax(redis, executor, "laxthreads", "a");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&a, t] {
        for (int i = 0; i < 20'000; ++i)
          (void)a->inc(i % 2 ? "even" : "odd" + std::to_string(t % 2));
      });
    }
    co_await sleep_for(executor, milliseconds(30));  // the flusher runs meanwhile
    for (auto& t : threads)
      t.join();
    EXPECT_TRUE((co_await a->flush()).ok());
    co_await sleep_for(executor, milliseconds(30));
    std::int64_t total = 0;
    for (const char* key : {"even", "odd0", "odd1"}) {
      const SliceValue v = value_or_failure(co_await a->get(key));
      EXPECT_EQ(v.cumulative, v.slice) << "one instance: its slice is everything";
      total += v.cumulative;
    }
    EXPECT_EQ(total, 80'000) << "no increment lost or counted twice";
    EXPECT_TRUE((co_await a->shutdown()).ok());
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(LaxInstanceAwareCounterTest);

}  // namespace
}  // namespace distkit
