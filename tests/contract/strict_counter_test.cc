// StrictCounter's contract on every backend (simulator, redis-server, Redis
// Cluster), including exact values at the int64 limits and the seed project's
// defects as named regression tests (reference/seeds.md A.5, A.14).
#include "distkit/core/counters/strict_counter.h"

#include <gtest/gtest.h>

#include <limits>

#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using StrictCounterTest = test_support::BackendTest;
using test_support::StatusIs;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

TEST(StrictCounterKeys, InvalidKeysAndPrefixesAreRejectedWithoutIo) {
  EXPECT_EQ(validate_key("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_key(std::string(256, 'k')).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate_key(std::string(255, 'k')).ok());
  EXPECT_EQ(validate_key("a:b").message(), "key \"a:b\" must not contain ':'");
  EXPECT_TRUE(validate_key("{odd} but fine").ok());
}

TEST_P(StrictCounterTest, IncDecGetSetDelClear) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    Result<StrictCounter> made = StrictCounter::create(redis, "app");
    EXPECT_TRUE(made.ok());
    StrictCounter& c = *made;
    EXPECT_EQ(c.redis_key(), "{app}:strict_counter");
    EXPECT_THAT(co_await c.get("hits"), IsOkAndHolds(0)) << "a missing counter reads 0";
    EXPECT_THAT(co_await c.inc("hits"), IsOkAndHolds(1));
    EXPECT_THAT(co_await c.inc("hits", 41), IsOkAndHolds(42));
    EXPECT_THAT(co_await c.dec("hits", 50), IsOkAndHolds(-8)) << "counters may go negative";
    EXPECT_THAT(co_await c.set("hits", 100), IsOkAndHolds(100));
    EXPECT_THAT(co_await c.get("hits"), IsOkAndHolds(100));
    EXPECT_THAT(co_await c.del("hits"), IsOkAndHolds(100));
    EXPECT_THAT(co_await c.del("hits"), IsOkAndHolds(0)) << "del of a missing counter returns 0";
    EXPECT_THAT(co_await c.get("hits"), IsOkAndHolds(0));
    (void)co_await c.inc("a", 1);
    (void)co_await c.inc("b", 2);
    EXPECT_TRUE((co_await c.clear()).ok());
    EXPECT_THAT(co_await c.get("a"), IsOkAndHolds(0));
    EXPECT_THAT(co_await c.get("b"), IsOkAndHolds(0));
    Result<std::int64_t> bad = co_await c.inc("a:b");
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  });
}

TEST_P(StrictCounterTest, ConditionalOperationsReturnNewAndOld) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    StrictCounter c = *StrictCounter::create(redis, "cond");
    EXPECT_THAT(co_await c.inc_if("k", Condition::eq(0), 5), IsOkAndHolds((Change{5, 0, true})));
    EXPECT_THAT(co_await c.inc_if("k", Condition::eq(0), 5), IsOkAndHolds((Change{5, 5, false})))
        << "a miss writes nothing and returns (old, old)";
    EXPECT_THAT(co_await c.inc_if("k", Condition::gt(4), 1), IsOkAndHolds((Change{6, 5, true})));
    EXPECT_THAT(co_await c.inc_if("k", Condition::lt(6), 1), IsOkAndHolds((Change{6, 6, false})));
    EXPECT_THAT(co_await c.inc_if("k", Condition::ne(7), 0), IsOkAndHolds((Change{6, 6, true})))
        << "applied with delta 0 is still applied";
    EXPECT_THAT(co_await c.set_if("k", Condition::ne(6), 9), IsOkAndHolds((Change{6, 6, false})));
    EXPECT_THAT(co_await c.set_if("k", Condition::eq(6), 9), IsOkAndHolds((Change{9, 6, true})));
    EXPECT_THAT(co_await c.set_if("new", Condition::lt(1), -3), IsOkAndHolds((Change{-3, 0, true})))
        << "a missing key compares as 0";
  });
}

// Seed defect A.5/A.14.14: values beyond 2^53 went through Lua doubles and came
// out wrong or as "4.6e+18" strings that broke later HINCRBYs.
TEST_P(StrictCounterTest, ValuesAreExactOverTheWholeInt64Range) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    StrictCounter c = *StrictCounter::create(redis, "big");
    const std::int64_t two_53 = std::int64_t{1} << 53;
    EXPECT_THAT(co_await c.set("k", two_53 + 1), IsOkAndHolds(two_53 + 1));
    EXPECT_THAT(co_await c.inc("k", 1), IsOkAndHolds(two_53 + 2));
    EXPECT_THAT(co_await c.set("k", 4611686018427387904), IsOkAndHolds(4611686018427387904));
    EXPECT_THAT(co_await c.inc("k", 3), IsOkAndHolds(4611686018427387907))
        << "HINCRBY still works after a big HSET";
    EXPECT_THAT(co_await c.set("k", kMax - 1), IsOkAndHolds(kMax - 1));
    EXPECT_THAT(co_await c.inc("k"), IsOkAndHolds(kMax));
    Result<std::int64_t> overflow = co_await c.inc("k");
    EXPECT_EQ(overflow.status().code(), StatusCode::kOutOfRange) << overflow.status();
    EXPECT_THAT(co_await c.get("k"), IsOkAndHolds(kMax)) << "a failed increment changes nothing";
    EXPECT_THAT(co_await c.set("m", kMin), IsOkAndHolds(kMin));
    EXPECT_EQ((co_await c.dec("m")).status().code(), StatusCode::kOutOfRange);
    EXPECT_EQ((co_await c.dec("m", kMin)).status().code(), StatusCode::kOutOfRange)
        << "dec(INT64_MIN) cannot be negated (A.14.14)";
    // Comparisons are exact too: kMax and kMax - 1 are one double apart of nothing.
    EXPECT_THAT(co_await c.set_if("k", Condition::eq(kMax - 1), 0),
                IsOkAndHolds((Change{kMax, kMax, false})));
    EXPECT_THAT(co_await c.set_if("k", Condition::gt(kMax - 1), 0),
                IsOkAndHolds((Change{0, kMax, true})));
    EXPECT_THAT(co_await c.inc_if("m", Condition::lt(kMin + 1), 1),
                IsOkAndHolds((Change{kMin + 1, kMin, true})));
    EXPECT_THAT(co_await c.inc_if("m", Condition::lt(-5), 0),
                IsOkAndHolds((Change{kMin + 1, kMin + 1, true})));
  });
}

// A field something else wrote (not an int64) is reported with its own code, on every
// backend alike (the code, not Redis's wording), and is left as it was: no operation
// writes over a value it could not report.
TEST_P(StrictCounterTest, AFieldThatHoldsNoInt64IsAFailedPreconditionAndStaysAsItWas) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    StrictCounter c = *StrictCounter::create(redis, "alien");
    for (const char* alien : {"abc", "1.5", "007", "+3", "-0", "", "9223372036854775808"}) {
      EXPECT_TRUE((co_await redis.command("HSET", c.redis_key(), "k", alien)).ok());
      SCOPED_TRACE(std::string("the field holds \"") + alien + "\"");
      Result<std::int64_t> inc = co_await c.inc("k");
      EXPECT_THAT(inc, StatusIs(StatusCode::kFailedPrecondition));
      EXPECT_TRUE(inc.status().message().starts_with("DKNOTINT")) << inc.status();
      EXPECT_THAT(co_await c.set_if("k", Condition::eq(0), 1),
                  StatusIs(StatusCode::kFailedPrecondition));
      EXPECT_THAT(co_await c.set("k", 1), StatusIs(StatusCode::kFailedPrecondition));
      EXPECT_THAT(co_await c.del("k"), StatusIs(StatusCode::kFailedPrecondition));
      EXPECT_THAT(co_await c.get("k"), StatusIs(StatusCode::kFailedPrecondition))
          << "get says so too";
      Result<RedisReply> raw = co_await redis.command("HGET", c.redis_key(), "k");
      EXPECT_EQ(*raw, RedisReply::bulk_string(alien)) << "nothing written";
    }
    // The way back: remove the foreign value (clear() would too, for the whole family).
    EXPECT_TRUE((co_await redis.command("HDEL", c.redis_key(), "k")).ok());
    EXPECT_THAT(co_await c.inc("k"), IsOkAndHolds(1));
  });
}

TEST_P(StrictCounterTest, BatchesKeepInputOrderAndApplyDuplicatesInOrder) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    StrictCounter c = *StrictCounter::create(redis, "batch");
    std::vector<StrictCounter::Increment> incs = {{"a", 1},
                                                  {"b", 10},
                                                  {"a", 2},
                                                  {"bad:key", 1},
                                                  {"a", 3, Condition::eq(3)},
                                                  {"a", 100, Condition::eq(0)}};
    std::vector<Result<Change>> got = co_await c.inc_all(std::move(incs));
    EXPECT_EQ(got.size(), 6u);
    EXPECT_EQ(*got[0], (Change{1, 0, true}));
    EXPECT_EQ(*got[1], (Change{10, 0, true}));
    EXPECT_EQ(*got[2], (Change{3, 1, true}));
    EXPECT_EQ(got[3].status().code(), StatusCode::kInvalidArgument) << "only the bad item fails";
    EXPECT_EQ(*got[4], (Change{6, 3, true}));
    EXPECT_EQ(*got[5], (Change{6, 6, false}));
    // Seed defect A.14.18: duplicate keys in set_all collapsed to one result.
    std::vector<StrictCounter::Assignment> sets = {{"x", 5}, {"x", 7}, {"x", 9, Condition::eq(5)}};
    std::vector<Result<Change>> set = co_await c.set_all(std::move(sets));
    EXPECT_EQ(*set[0], (Change{5, 0, true}));
    EXPECT_EQ(*set[1], (Change{7, 5, true}));
    EXPECT_EQ(*set[2], (Change{7, 7, false}));
    std::vector<std::string> keys = {"a", "missing", "x", "b"};
    std::vector<Result<std::int64_t>> values = co_await c.get_all(std::move(keys));
    EXPECT_EQ(*values[0], 6);
    EXPECT_EQ(*values[1], 0);
    EXPECT_EQ(*values[2], 7);
    EXPECT_EQ(*values[3], 10);
    EXPECT_TRUE((co_await c.get_all({})).empty());
  });
}

TEST_P(StrictCounterTest, FamiliesAreSeparateAndSurviveAScriptFlush) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    StrictCounter one = *StrictCounter::create(redis, "one");
    StrictCounter two = *StrictCounter::create(redis, "two");
    (void)co_await one.inc("k", 5);
    (void)co_await redis.command("SCRIPT", "FLUSH");
    EXPECT_THAT(co_await one.inc("k", 1), IsOkAndHolds(6)) << "NOSCRIPT handled by the connection";
    EXPECT_THAT(co_await two.get("k"), IsOkAndHolds(0));
    EXPECT_TRUE((co_await one.clear()).ok());
    EXPECT_THAT(co_await two.inc("k"), IsOkAndHolds(1));
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(StrictCounterTest);

}  // namespace
}  // namespace distkit
