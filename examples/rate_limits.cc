// The rate limiters against a real Redis (or tools/simredis):
//
//   bazel run //examples:rate_limits -- redis://127.0.0.1:6379
//
// GCRA for API rate limits with standard headers, a sliding window for "at most N per
// window" quotas, an InvocationCounter for cheap local statistics, and the failure
// policy that keeps a service up (or safe) when Redis is not.
#include <cstdio>
#include <string>

#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/resilient_gcra.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/local/invocation_counter.h"
#include "distkit/core/local/local_gcra.h"
#include "distkit/transport/redis_client.h"

namespace {

using distkit::Result;
using distkit::Task;

Task<int> demo(distkit::RedisConnection& redis, const distkit::Clock& clock) {
  // GCRA: 5 password-reset mails per hour, all 5 at once if need be; a client asking
  // 7 times in a row.
  Result<distkit::GcraLimiter> api = distkit::GcraLimiter::create(redis, {.prefix = "example-api"});
  if (!api.ok()) {
    std::fprintf(stderr, "%s\n", api.status().to_string().c_str());
    co_return 2;
  }
  const distkit::GcraRate rate{.permits = 5, .period = std::chrono::hours(1), .burst = 4};
  int allowed = 0;
  distkit::GcraDecision last;
  for (int i = 0; i < 7; ++i) {
    Result<distkit::GcraDecision> d = co_await api->check("user-42", rate);
    if (!d.ok()) {
      // kUnknownOutcome: the check may have counted; a caller would decide by policy.
      std::fprintf(stderr, "check failed: %s\n", d.status().to_string().c_str());
      co_return 1;
    }
    allowed += d->allowed ? 1 : 0;
    last = *d;
  }
  const distkit::RateLimitHeaders headers = distkit::rate_limit_headers(last);
  std::printf("gcra: %d of 7 allowed; RateLimit: %s; Retry-After: %s\n", allowed,
              headers.rate_limit.c_str(), headers.retry_after.c_str());
  (void)co_await api->reset("user-42");

  // Sliding window: at most 3 exports per minute.
  Result<distkit::SlidingWindowLimiter> exports =
      distkit::SlidingWindowLimiter::create(redis, {.prefix = "example-exports"});
  if (!exports.ok()) co_return 2;
  const distkit::SlidingWindowLimit per_minute{
      .limit = 3, .window = std::chrono::minutes(1), .bucket = std::chrono::seconds(1)};
  int exported = 0;
  for (int i = 0; i < 5; ++i) {
    Result<distkit::WindowDecision> d = co_await exports->inc("acme", per_minute);
    if (d.ok() && d->allowed) ++exported;
  }
  std::printf("sliding window: %d of 5 exports allowed\n", exported);
  (void)co_await redis.command("DEL", exports->redis_key("acme"));

  // The failure policy: fall back to a local limiter while Redis is away.
  distkit::LocalGcraLimiter local(clock);
  distkit::ResilientGcraLimiter resilient(
      *api, clock, {.mode = distkit::FailureMode::kFailClosed, .fallback = &local});
  Result<distkit::ResilientDecision> r = co_await resilient.check("user-7", rate);
  if (!r.ok()) co_return 1;
  std::printf("resilient: decided by %s\n",
              r->decided_by == distkit::DecidedBy::kRedis ? "redis" : "the fallback");
  (void)co_await api->reset("user-7");

  // InvocationCounter: requests per second over the last 8 seconds, lock-free.
  auto seen = std::move(*distkit::InvocationCounter::create(3, 0));  // 8 slots of 1 s
  for (std::uint64_t second = 100; second < 110; ++second) {
    for (std::uint64_t i = 0; i <= second - 100; ++i)
      seen->record(second);
  }
  std::printf("invocations in the last 3 s: %llu\n",
              static_cast<unsigned long long>(seen->count_in(107, 110)));
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "redis://127.0.0.1:6379";
  Result<distkit::transport::RedisClientOptions> options = distkit::transport::parse_redis_url(url);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.status().to_string().c_str());
    return 2;
  }
  auto runtime = distkit::transport::AsioRuntime::start();
  return distkit::block_on(*runtime,
                           [](distkit::transport::AsioRuntime& rt,
                              distkit::transport::RedisClientOptions o) -> Task<int> {
                             distkit::transport::RedisClient redis(rt, o);
                             co_return co_await demo(redis, rt.clock());
                           }(*runtime, *options));
}
