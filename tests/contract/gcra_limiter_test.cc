// GcraLimiter on every backend (simulator, redis-server, Redis Cluster): redis-cell's
// table through the script, several rates all or nothing, the server's clock, bad
// input, and the script against the pure model (core/limiters/gcra.h) on random sequences of
// rates, time advances and quantities: every field of every verdict must agree, and
// every TTL the script sets. Tests on a manual client clock run the script through
// PinnedExpiryConnection: a real server's expiry must not race the virtual clock.
#include "distkit/core/limiters/gcra_limiter.h"

#include <gtest/gtest.h>

#include "distkit/sim/world/rng.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/manual_clock.h"
#include "distkit/tests/support/pinned_expiry.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;
using GcraLimiterTest = test_support::BackendTest;

TEST_P(GcraLimiterTest, RedisCellsTableThroughTheScript) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    test_support::ManualClock clock(std::chrono::seconds(1'700'000'000));
    test_support::PinnedExpiryConnection pinned(redis, {&GcraLimiter::script()});
    GcraLimiter limiter = *GcraLimiter::create(pinned, {.prefix = "cell", .client_clock = &clock});
    const GcraRate rate{.permits = 1, .period = seconds(1), .burst = 4};
    GcraDecision d = value_or_failure(co_await limiter.check("k", rate, 6));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after, kRetryNever);
    EXPECT_EQ(d.remaining, 5);
    EXPECT_EQ(pinned.last_ttl_ms(), -2) << "a refusal writes nothing";
    for (int i = 1; i <= 5; ++i) {
      d = value_or_failure(co_await limiter.check("k", rate));
      EXPECT_TRUE(d.allowed);
      EXPECT_EQ(d.remaining, 5 - i);
      EXPECT_EQ(d.reset_after, seconds(i));
      EXPECT_EQ(pinned.last_ttl_ms(), 1000 * i) << "the key lives until its TAT has passed";
    }
    d = value_or_failure(co_await limiter.check("k", rate));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after, seconds(1));
    clock.advance(milliseconds(3100));
    (void)co_await limiter.check("k", rate);
    EXPECT_EQ(pinned.last_ttl_ms(), 2900) << "the key lives until its TAT has passed";
    d = value_or_failure(co_await limiter.check("k", rate, 0));
    EXPECT_EQ(d.remaining, 2) << "a peek";
    EXPECT_EQ(d.reset_after, milliseconds(2900));
    EXPECT_EQ(pinned.last_ttl_ms(), -1) << "a peek writes nothing, not even the TTL";
    EXPECT_TRUE((co_await limiter.reset("k")).ok());
    EXPECT_EQ((value_or_failure(co_await limiter.check("k", rate, 0))).remaining, 5);
  });
}

// Pacer's multi-rate script advanced earlier rates even when a later one denied.
TEST_P(GcraLimiterTest, SeveralRatesAreAllOrNothing) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    test_support::ManualClock clock(std::chrono::seconds(1'700'000'000));
    test_support::PinnedExpiryConnection pinned(redis, {&GcraLimiter::script()});
    GcraLimiter limiter = *GcraLimiter::create(pinned, {.prefix = "multi", .client_clock = &clock});
    const std::vector<GcraRate> rates = {{.permits = 10, .period = seconds(1), .burst = 9},
                                         {.permits = 3, .period = seconds(60), .burst = 2}};
    for (int i = 0; i < 3; ++i)
      EXPECT_TRUE((value_or_failure(co_await limiter.check_all("u", rates))).combined.allowed);
    GcraVerdict v = value_or_failure(co_await limiter.check_all("u", rates));
    EXPECT_FALSE(v.combined.allowed);
    EXPECT_EQ(v.binding, 1u) << "the per-minute rate binds";
    EXPECT_EQ(v.combined.retry_after, seconds(20));
    const GcraDecision per_second = value_or_failure(co_await limiter.check("u", rates[0], 0));
    EXPECT_EQ(per_second.remaining, 7) << "the denied call took nothing from the first rate";
    std::vector<GcraRate> twice = {rates[0], rates[0]};
    Result<GcraVerdict> dup = co_await limiter.check_all("u", std::move(twice));
    EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  });
}

TEST_P(GcraLimiterTest, TheServerClockByDefaultAndBadInputRejected) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    GcraLimiter limiter = *GcraLimiter::create(redis, {.prefix = "server"});
    const GcraRate rate{.permits = 1, .period = seconds(60), .burst = 1};
    // The server's TIME around the three checks bounds the time between the first
    // and the third (however slow the machine): retry_after = 60 s - that time.
    auto server_time = [&redis]() -> Task<microseconds> {
      Result<RedisReply> t = co_await redis.command("TIME");
      EXPECT_TRUE(t.ok() && t->is_array() && t->elements().size() == 2) << t.status();
      if (!t.ok() || !t->is_array() || t->elements().size() != 2) co_return microseconds(0);
      co_return seconds(std::stoll(std::string(t->elements()[0].text()))) +
          microseconds(std::stoll(std::string(t->elements()[1].text())));
    };
    const microseconds before = co_await server_time();
    EXPECT_TRUE((value_or_failure(co_await limiter.check("k", rate))).allowed);
    EXPECT_TRUE((value_or_failure(co_await limiter.check("k", rate))).allowed);
    GcraDecision d = value_or_failure(co_await limiter.check("k", rate));
    const microseconds after = co_await server_time();
    EXPECT_FALSE(d.allowed);
    EXPECT_GE(d.retry_after, seconds(60) - (after - before));
    EXPECT_LE(d.retry_after, seconds(60));
    EXPECT_EQ((co_await limiter.check("a:b", rate)).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter.check("k", GcraRate{.permits = 0})).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter.check("k", rate, -1)).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(GcraLimiter::create(redis, {.prefix = ""}).status().code(),
              StatusCode::kInvalidArgument);
  });
}

// The script is the model: random rates (one to three on a key), random advances
// (including none, and jumps past every TAT) and quantities (0 to burst + 2).
TEST_P(GcraLimiterTest, TheScriptAgreesWithThePureModel) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    test_support::ManualClock clock(std::chrono::seconds(1'700'000'000));
    test_support::PinnedExpiryConnection pinned(redis, {&GcraLimiter::script()});
    GcraLimiter limiter = *GcraLimiter::create(pinned, {.prefix = "model", .client_clock = &clock});
    sim::Rng rng(20261123);
    int checks = 0;
    for (int sequence = 0; sequence < 60; ++sequence) {
      std::vector<GcraRate> rates;
      const int n = static_cast<int>(rng.between(1, 3));
      while (static_cast<int>(rates.size()) < n) {
        GcraRate r{.permits = rng.between(1, 5000),
                   .period = microseconds(rng.between(1, 10'000'000)),
                   .burst = rng.between(0, 10)};
        bool clash = false;
        for (const GcraRate& other : rates)
          clash = clash || (other.permits == r.permits && other.period == r.period);
        if (r.validate().ok() && !clash) rates.push_back(r);
      }
      const std::string key = "s" + std::to_string(sequence);
      std::vector<std::optional<GcraTat>> tats(rates.size());
      bool written = false;
      std::int64_t now = 1'700'000'000'000'000 + sequence;
      for (int step = 0; step < 25; ++step) {
        now += rng.chance(0.2) ? 0 : rng.between(0, rng.chance(0.1) ? 20'000'000 : 300'000);
        clock.set(microseconds(now));
        const std::int64_t quantity = rng.between(0, rates[0].burst + 2);
        const GcraSteps model = gcra_decide_all(rates, tats, now, quantity);
        const GcraVerdict& expected = model.verdict;
        Result<GcraVerdict> got = co_await limiter.check_all(key, rates, quantity);
        if (!got.ok()) {
          ADD_FAILURE() << got.status();
          co_return;
        }
        const GcraDecision& e = expected.combined;
        const GcraDecision& g = got->combined;
        const bool same = e.allowed == g.allowed && e.limit == g.limit &&
                          e.remaining == g.remaining && e.retry_after == g.retry_after &&
                          e.reset_after == g.reset_after && expected.binding == got->binding;
        if (!same) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": model says allowed=" << e.allowed << " remaining=" << e.remaining
                        << " retry=" << e.retry_after.count() << " reset=" << e.reset_after.count()
                        << " binding=" << expected.binding << "; script says allowed=" << g.allowed
                        << " remaining=" << g.remaining << " retry=" << g.retry_after.count()
                        << " reset=" << g.reset_after.count() << " binding=" << got->binding;
          co_return;
        }
        // Written: the hash lives until its last TAT has passed, in whole milliseconds
        // (at least one). Else the TTL is as the last write left it (pinned: none).
        const bool writes = e.allowed && quantity > 0;
        written = written || writes;
        const std::int64_t reset_us =
            std::chrono::duration_cast<microseconds>(e.reset_after).count();
        const std::int64_t want_ttl =
            writes ? std::max<std::int64_t>(1, (reset_us + 999) / 1000) : (written ? -1 : -2);
        if (pinned.last_ttl_ms() != want_ttl) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": the script left a TTL of " << pinned.last_ttl_ms().value_or(-3)
                        << " ms, the model says " << want_ttl;
          co_return;
        }
        for (std::size_t i = 0; i < rates.size(); ++i) {
          if (model.stores[i]) tats[i] = model.stores[i];
        }
        ++checks;
      }
    }
    EXPECT_EQ(checks, 60 * 25);
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(GcraLimiterTest);

}  // namespace
}  // namespace distkit
