// Every Redis-backed primitive against a Redis that lies about its replies: each
// reply may be replaced by an arbitrary one (any type, any depth, any text) or by the
// true reply with one part swapped for something else. Whatever comes back, nothing
// crashes, aborts or hangs (the sanitizer configurations run this too), every
// operation returns a value or a non-OK Status, and the primitive shuts down cleanly.
// With no lies, the same workload succeeds throughout (so the workload does reach the
// parsers it means to test).
//
// Deterministic: seed N draws both the workload and the lies. A failure prints its
// seed and the command that runs that seed alone:
//   bazel test //tests/unit:wrong_shape_test --test_env=DISTKIT_WRONG_SHAPE_SEED=<seed>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "distkit/core/counters/instance_aware_counter.h"
#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/lax_instance_aware_counter.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/hybrid_suppressed_limiter.h"
#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A RedisConnection that forwards every command to a real (simulated) server and
// then, with probability `lie_rate`, replaces the reply. Top-level error replies stay
// within the connection contract (a kServerError Status, never an error reply).
class LyingConnection final : public RedisConnection {
 public:
  LyingConnection(RedisConnection& inner, std::uint64_t seed, double lie_rate)
      : inner_(inner), rng_(seed), lie_rate_(lie_rate) {}

  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override {
    std::vector<Result<RedisReply>> results = co_await inner_.execute_pipeline(std::move(commands));
    for (Result<RedisReply>& result : results) {
      if (!chance(lie_rate_)) continue;
      ++lies_;
      RedisReply fake = (result.ok() && chance(0.5)) ? mutated(*result, 0) : arbitrary(0);
      if (fake.is_error()) {
        result = server_error(fake.text());
      } else {
        result = std::move(fake);
      }
    }
    co_return results;
  }

  [[nodiscard]] std::uint64_t lies() const { return lies_; }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::string text() {
    static const std::vector<std::string> kTexts = {"",
                                                    "0",
                                                    "1",
                                                    "-1",
                                                    "42",
                                                    "abc",
                                                    "1.5",
                                                    "-0",
                                                    "007",
                                                    "+3",
                                                    "nan",
                                                    "inf",
                                                    "1e3",
                                                    "stale",
                                                    "ok",
                                                    "overflow",
                                                    "restored",
                                                    "9223372036854775807",
                                                    "-9223372036854775808",
                                                    "9223372036854775808",
                                                    std::string("\0\xff:", 3),
                                                    "a:b",
                                                    "{x}",
                                                    "12:34"};
    return kTexts[below(kTexts.size())];
  }

  std::int64_t number() {
    static const std::vector<std::int64_t> kNumbers = {0,
                                                       1,
                                                       -1,
                                                       2,
                                                       7,
                                                       1000,
                                                       -1000,
                                                       std::numeric_limits<std::int64_t>::max(),
                                                       std::numeric_limits<std::int64_t>::min()};
    return kNumbers[below(kNumbers.size())];
  }

  RedisReply arbitrary(int depth) {
    switch (below(depth < 3 ? 6 : 5)) {
      case 0:
        return RedisReply::nil();
      case 1:
        return RedisReply::integer(number());
      case 2:
        return RedisReply::simple_string(text());
      case 3:
        return RedisReply::bulk_string(text());
      case 4: {
        static const std::vector<std::string> kErrors = {"DKOVERFLOW x",
                                                         "DKNOTINT x",
                                                         "DKREAPED x",
                                                         "DKBADARG x",
                                                         "ERR x",
                                                         "NOSCRIPT No matching script",
                                                         "WRONGTYPE x",
                                                         "MOVED 1 127.0.0.1:1",
                                                         "ASK 1 127.0.0.1:1",
                                                         "LOADING x",
                                                         "BUSY x",
                                                         "DKOVERFLOW"};
        return RedisReply::error(kErrors[below(kErrors.size())]);
      }
      default: {
        std::vector<RedisReply> elements(below(7));
        for (RedisReply& e : elements)
          e = arbitrary(depth + 1);
        return RedisReply::array(std::move(elements));
      }
    }
  }

  // The true reply with one node (possibly the root) replaced: keeps the outer shape
  // right so that parsers get past their first check.
  RedisReply mutated(const RedisReply& truth, int depth) {
    if (!truth.is_array() || truth.elements().empty() || chance(0.3)) return arbitrary(depth);
    RedisReply copy = truth;
    std::vector<RedisReply>& elements = copy.elements();
    if (chance(0.2)) {
      if (chance(0.5)) {
        elements.pop_back();
      } else {
        elements.push_back(arbitrary(depth + 1));
      }
      return copy;
    }
    RedisReply& victim = elements[below(elements.size())];
    victim = mutated(victim, depth + 1);
    return copy;
  }

  RedisConnection& inner_;
  std::mt19937_64 rng_;
  double lie_rate_;
  std::uint64_t lies_ = 0;
};

// What one run saw.
struct Tally {
  int ok = 0;
  int failed = 0;
  void count(const Status& status) { status.ok() ? ++ok : ++failed; }
  template <typename T>
  void count(const Result<T>& result) {
    count(result.status());
  }
  template <typename T>
  void count(const std::vector<Result<T>>& results) {
    for (const Result<T>& r : results)
      count(r.status());
  }
};

using Workload = std::function<Task<void>(RedisConnection&, Executor&, std::mt19937_64&, Tally&)>;

// (Built outside co_await expressions: GCC 12 rejects a braced list in one.)
std::vector<StrictCounter::Increment> increments() {
  return {{"a", 1}, {"b", 2}, {"a", 3}};
}
std::vector<std::string> all_keys() {
  return {"a", "b", "c"};
}

std::string key(std::mt19937_64& rng) {
  return std::string(1, static_cast<char>('a' + rng() % 3));
}

Task<void> strict_counter(RedisConnection& redis, Executor&, std::mt19937_64& rng, Tally& t) {
  Result<StrictCounter> made = StrictCounter::create(redis, "s");
  if (!made.ok()) co_return t.count(made.status());
  StrictCounter& c = *made;
  for (int i = 0; i < 20; ++i) {
    switch (rng() % 8) {
      case 0:
        t.count(co_await c.inc(key(rng), 3));
        break;
      case 1:
        t.count(co_await c.inc_if(key(rng), Condition::gt(-5), 1));
        break;
      case 2:
        t.count(co_await c.set(key(rng), 9));
        break;
      case 3:
        t.count(co_await c.set_if(key(rng), Condition::ne(1), 2));
        break;
      case 4:
        t.count(co_await c.get(key(rng)));
        break;
      case 5:
        t.count(co_await c.del(key(rng)));
        break;
      case 6:
        t.count(co_await c.inc_all(increments()));
        break;
      default:
        t.count(co_await c.get_all(all_keys()));
        break;
    }
  }
  t.count(co_await c.clear());
}

Task<void> lax_counter(RedisConnection& redis, Executor& ex, std::mt19937_64& rng, Tally& t) {
  LaxCounterOptions o;
  o.prefix = "l";
  o.instance_id = "one";
  Result<std::unique_ptr<LaxCounter>> made = LaxCounter::create(redis, ex, o);
  if (!made.ok()) co_return t.count(made.status());
  LaxCounter& c = **made;
  for (int i = 0; i < 20; ++i) {
    switch (rng() % 6) {
      case 0:
      case 1:
        t.count(c.inc(key(rng), 2));
        break;
      case 2:
        t.count(co_await c.get(key(rng)));
        break;
      case 3:
        t.count(co_await c.set(key(rng), 5));
        break;
      case 4:
        t.count(co_await c.del(key(rng)));
        break;
      default:
        t.count(co_await c.flush());
        break;
    }
    co_await sleep_for(ex, milliseconds(7));  // lets the flusher run in between
  }
  t.count(co_await c.clear());
  t.count(co_await c.shutdown());
}

InstanceAwareCounterOptions instance_aware_options() {
  InstanceAwareCounterOptions o;
  o.prefix = "ia";
  o.instance_id = "one";
  o.session = 1;
  o.dead_instance_threshold = milliseconds(300);
  return o;
}

Task<void> strict_instance_aware(RedisConnection& redis, Executor& ex, std::mt19937_64& rng,
                                 Tally& t) {
  auto made = StrictInstanceAwareCounter::create(redis, ex, instance_aware_options());
  if (!made.ok()) co_return t.count(made.status());
  StrictInstanceAwareCounter& c = **made;
  for (int i = 0; i < 20; ++i) {
    switch (rng() % 10) {
      case 0:
        t.count(co_await c.inc(key(rng), 3));
        break;
      case 1:
        t.count(co_await c.inc_if(key(rng), Condition::gt(-5), 1));
        break;
      case 2:
        t.count(co_await c.set(key(rng), 9));
        break;
      case 3:
        t.count(co_await c.set_on_instance(key(rng), 4));
        break;
      case 4:
        t.count(co_await c.get(key(rng)));
        break;
      case 5:
        t.count(co_await c.del(key(rng)));
        break;
      case 6:
        t.count(co_await c.del_on_instance(key(rng)));
        break;
      case 7:
        t.count(co_await c.get_all(all_keys()));
        break;
      case 8:
        t.count(co_await c.heartbeat());
        break;
      default:
        t.count(co_await c.inc_all(increments()));
        break;
    }
    co_await sleep_for(ex, milliseconds(40));  // heartbeats and reaping in between
  }
  t.count(co_await c.clear_on_instance());
  t.count(co_await c.clear());
  t.count(co_await c.shutdown());
}

Task<void> lax_instance_aware(RedisConnection& redis, Executor& ex, std::mt19937_64& rng,
                              Tally& t) {
  LaxInstanceAwareCounterOptions o;
  static_cast<InstanceAwareCounterOptions&>(o) = instance_aware_options();
  auto made = LaxInstanceAwareCounter::create(redis, ex, o);
  if (!made.ok()) co_return t.count(made.status());
  LaxInstanceAwareCounter& c = **made;
  for (int i = 0; i < 20; ++i) {
    switch (rng() % 7) {
      case 0:
      case 1:
        t.count(c.inc(key(rng), 2));
        break;
      case 2:
        t.count(co_await c.get(key(rng)));
        break;
      case 3:
        t.count(co_await c.set(key(rng), 5));
        break;
      case 4:
        t.count(co_await c.del_on_instance(key(rng)));
        break;
      case 5:
        t.count(co_await c.del(key(rng)));
        break;
      default:
        t.count(co_await c.flush());
        break;
    }
    co_await sleep_for(ex, milliseconds(30));
  }
  t.count(co_await c.clear_on_instance());
  t.count(co_await c.shutdown());
}

Task<void> limiters(RedisConnection& redis, Executor& ex, std::mt19937_64& rng, Tally& t) {
  Result<GcraLimiter> gcra = GcraLimiter::create(redis, {.prefix = "g"});
  Result<SlidingWindowLimiter> window = SlidingWindowLimiter::create(redis, {.prefix = "w"});
  Result<SuppressedLimiter> suppressed =
      SuppressedLimiter::create(redis, ex, {.prefix = "p", .seed = 5});
  auto hybrid_window = HybridSlidingWindowLimiter::create(redis, ex, {.prefix = "hw"});
  auto hybrid_suppressed = HybridSuppressedLimiter::create(redis, ex, {.prefix = "hp", .seed = 6});
  if (!gcra.ok() || !window.ok() || !suppressed.ok() || !hybrid_window.ok() ||
      !hybrid_suppressed.ok()) {
    ADD_FAILURE() << "a limiter could not be created";
    co_return;
  }
  const GcraRate rate{.permits = 5, .period = seconds(1), .burst = 2};
  const std::vector<GcraRate> rates = {rate, {.permits = 50}};
  const SlidingWindowLimit limit{.limit = 20, .window = seconds(1), .bucket = milliseconds(100)};
  const SuppressedLimit soft{.soft_limit = 5,
                             .hard_limit = 20,
                             .window = seconds(1),
                             .bucket = milliseconds(100),
                             .factor_cache = milliseconds(100)};
  for (int i = 0; i < 24; ++i) {
    switch (rng() % 8) {
      case 0:
        t.count(co_await gcra->check(key(rng), rate));
        break;
      case 1:
        t.count(co_await gcra->check_all(key(rng), rates));
        break;
      case 2:
        t.count(co_await gcra->reset(key(rng)));
        break;
      case 3:
        t.count(co_await window->inc(key(rng), limit, 2));
        break;
      case 4:
        t.count(co_await suppressed->inc(key(rng), soft, 1));
        break;
      case 5:
        t.count(co_await (*hybrid_window)->inc(key(rng), limit, 1));
        break;
      case 6:
        t.count(co_await (*hybrid_suppressed)->inc(key(rng), soft, 1));
        break;
      default:
        t.count(co_await (*hybrid_window)->sync());
        break;
    }
    co_await sleep_for(ex, milliseconds(5));  // the hybrids' sync tasks in between
  }
  t.count(co_await (*hybrid_window)->shutdown());
  t.count(co_await (*hybrid_suppressed)->shutdown());
}

struct Outcome {
  bool finished = false;
  Tally tally;
  std::uint64_t lies = 0;
};

Outcome run(const Workload& workload, std::uint64_t seed, double lie_rate) {
  sim::World world({.seed = seed});
  const NodeId server = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  Outcome out;
  world.add_instance("client", [&](sim::NodeContext& node) -> Task<void> {
    auto inner = node.connect_redis(server);
    LyingConnection liar(*inner, seed * 7919 + 1, lie_rate);
    std::mt19937_64 rng(seed);
    co_await workload(liar, node.executor(), rng, out.tally);
    out.finished = true;
    out.lies = liar.lies();
  });
  (void)world.run_until([&] { return out.finished; }, world.now() + seconds(600));
  return out;
}

// The run in progress, printed if it aborts (gtest's traces die with the process).
char current_run[512] = "";

void print_current_run_and_abort(int) {
  const char prefix[] = "\nwrong_shape_test: aborted during ";
  (void)!write(2, prefix, sizeof(prefix) - 1);
  (void)!write(2, current_run, std::strlen(current_run));
  (void)!write(2, "\n", 1);
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

std::vector<std::uint64_t> seeds() {
  if (const char* one = std::getenv("DISTKIT_WRONG_SHAPE_SEED")) {
    return {std::strtoull(one, nullptr, 10)};
  }
  std::vector<std::uint64_t> all;
  for (std::uint64_t s = 1; s <= 40; ++s)
    all.push_back(s);
  return all;
}

struct Case {
  const char* name;
  Workload workload;
  friend void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
};

class WrongShapeTest : public ::testing::TestWithParam<Case> {};

TEST_P(WrongShapeTest, WithoutLiesTheWorkloadSucceeds) {
  for (std::uint64_t seed : {1, 2, 3}) {
    Outcome r = run(GetParam().workload, seed, 0.0);
    EXPECT_TRUE(r.finished) << "seed " << seed;
    EXPECT_GT(r.tally.ok, 0) << "seed " << seed;
    EXPECT_EQ(r.tally.failed, 0) << "seed " << seed;
  }
}

TEST_P(WrongShapeTest, LyingRepliesNeverCrashAbortOrHang) {
  for (double rate : {0.1, 0.5, 1.0}) {
    std::uint64_t lies = 0;
    for (std::uint64_t seed : seeds()) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", lie rate " + std::to_string(rate) +
                   "; replay: bazel test //tests/unit:wrong_shape_test --test_filter='*" +
                   GetParam().name +
                   "*' --test_env=DISTKIT_WRONG_SHAPE_SEED=" + std::to_string(seed));
      std::snprintf(
          current_run, sizeof(current_run),
          "%s, seed %llu, lie rate %.1f; replay: bazel test //tests/unit:wrong_shape_test "
          "--test_filter='*%s*' --test_env=DISTKIT_WRONG_SHAPE_SEED=%llu",
          GetParam().name, static_cast<unsigned long long>(seed), rate, GetParam().name,
          static_cast<unsigned long long>(seed));
      std::signal(SIGABRT, print_current_run_and_abort);
      Outcome r = run(GetParam().workload, seed, rate);
      std::signal(SIGABRT, SIG_DFL);
      EXPECT_TRUE(r.finished) << "hung: still running after 600 s of virtual time";
      if (rate == 1.0) {
        EXPECT_GT(r.tally.failed, 0) << "every reply a lie, yet nothing failed";
      }
      lies += r.lies;
    }
    EXPECT_GT(lies, 0u) << "at lie rate " << rate << " no reply was replaced";
  }
}

INSTANTIATE_TEST_SUITE_P(Primitives, WrongShapeTest,
                         ::testing::Values(Case{"StrictCounter", strict_counter},
                                           Case{"LaxCounter", lax_counter},
                                           Case{"StrictInstanceAware", strict_instance_aware},
                                           Case{"LaxInstanceAware", lax_instance_aware},
                                           Case{"Limiters", limiters}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace distkit
