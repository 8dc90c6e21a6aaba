// The two counters against a real Redis (or tools/simredis):
//
//   bazel run //examples:counters -- redis://127.0.0.1:6379
//
// A StrictCounter for what must be exact and linear (credits, invoices), and a
// LaxCounter for what is hot and may lag by a flush interval (page views). Both use
// the same Redis hash, so the strict reader sees what the lax writer flushed.
// Instance-aware counters for values that belong to live processes (open connections
// per service): each process owns a slice, and a dead process's slice goes away.
#include <cstdio>
#include <string>

#include "distkit/core/counters/instance_aware_counter.h"
#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/lax_instance_aware_counter.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/transport/redis_client.h"

namespace {

using distkit::Condition;
using distkit::Result;
using distkit::Status;
using distkit::Task;

Task<int> demo(distkit::RedisConnection& redis, distkit::Executor& executor) {
  // Strict: every operation is atomic in Redis.
  Result<distkit::StrictCounter> credits = distkit::StrictCounter::create(redis, "example-credits");
  if (!credits.ok()) {
    std::fprintf(stderr, "%s\n", credits.status().to_string().c_str());
    co_return 2;
  }
  (void)co_await credits->set("acme", 100);
  // Spend 30 credits only if at least 30 are left: one atomic conditional step.
  Result<distkit::Change> spent = co_await credits->inc_if("acme", Condition::gt(29), -30);
  if (!spent.ok()) {
    // kUnknownOutcome means the spend may or may not have happened: do not blindly retry.
    std::fprintf(stderr, "spend failed: %s\n", spent.status().to_string().c_str());
    co_return 1;
  }
  std::printf("credits: %lld -> %lld (%s)\n", static_cast<long long>(spent->previous),
              static_cast<long long>(spent->value), spent->applied ? "spent" : "not enough");

  // Lax: local, instant increments; flushed in batches, counted once.
  distkit::LaxCounterOptions options;
  options.prefix = "example-views";
  options.instance_id = "example";
  Result<std::unique_ptr<distkit::LaxCounter>> views =
      distkit::LaxCounter::create(redis, executor, options);
  if (!views.ok()) {
    std::fprintf(stderr, "%s\n", views.status().to_string().c_str());
    co_return 2;
  }
  for (int i = 0; i < 1000; ++i)
    (void)(*views)->inc("home");
  if (Status s = co_await (*views)->shutdown(); !s.ok()) {
    std::fprintf(stderr, "flush failed: %s\n", s.to_string().c_str());
    co_return 1;
  }
  distkit::StrictCounter reader = *distkit::StrictCounter::create(redis, "example-views");
  Result<std::int64_t> total = co_await reader.get("home");
  if (!total.ok()) co_return 1;
  std::printf("page views flushed and read back: %lld\n", static_cast<long long>(*total));
  (void)co_await reader.clear();
  (void)co_await credits->clear();

  // Instance-aware: two workers of one service hold connections; each owns its slice.
  distkit::InstanceAwareCounterOptions ia;
  ia.prefix = "example-connections";
  ia.instance_id = "worker-1";
  auto worker1 = std::move(*distkit::StrictInstanceAwareCounter::create(redis, executor, ia));
  ia.instance_id = "worker-2";
  auto worker2 = std::move(*distkit::StrictInstanceAwareCounter::create(redis, executor, ia));
  (void)co_await worker1->inc("api", 3);
  Result<distkit::SliceValue> both = co_await worker2->inc("api", 4);
  if (!both.ok()) {
    std::fprintf(stderr, "instance-aware inc failed: %s\n", both.status().to_string().c_str());
    co_return 1;
  }
  std::printf("connections: %lld in all, %lld of them worker-2's\n",
              static_cast<long long>(both->cumulative), static_cast<long long>(both->slice));
  (void)co_await worker2->clear_on_instance();  // worker-2 drops all it held
  Result<distkit::SliceValue> left = co_await worker1->get("api");
  if (!left.ok()) co_return 1;
  std::printf("after worker-2 let go: %lld\n", static_cast<long long>(left->cumulative));

  // The lax form: local increments, flushed into this instance's slice.
  distkit::LaxInstanceAwareCounterOptions lax_ia;
  lax_ia.prefix = "example-connections";
  lax_ia.instance_id = "worker-3";
  auto worker3 = std::move(*distkit::LaxInstanceAwareCounter::create(redis, executor, lax_ia));
  for (int i = 0; i < 50; ++i)
    (void)worker3->inc("events");
  if (Status s = co_await worker3->flush(); !s.ok()) co_return 1;
  Result<distkit::SliceValue> events = co_await worker3->get("events");
  if (!events.ok()) co_return 1;
  std::printf("lax instance-aware events: %lld\n", static_cast<long long>(events->cumulative));
  (void)co_await worker1->clear();
  (void)co_await worker3->clear();
  (void)co_await worker1->shutdown();
  (void)co_await worker2->shutdown();
  (void)co_await worker3->shutdown();
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
                             co_return co_await demo(redis, rt);
                           }(*runtime, *options));
}
