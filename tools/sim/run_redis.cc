// The scenario workload against a real Redis: the same primitives and checks, in real
// time, without simulated faults, so a user can compare the simulator with reality.
#include <chrono>

#include "distkit/core/base/random.h"
#include "distkit/tools/sim/scenario.h"
#include "distkit/transport/redis_client.h"
#include "distkit/transport/runtime.h"

namespace distkit::scenario {
namespace {

using std::chrono::milliseconds;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Removes the run's keys (SCAN + UNLINK): a user's Redis is left as it was found.
Task<void> remove_keys(RedisConnection& redis, const std::string& prefix) {
  std::string cursor = "0";
  for (int rounds = 0; rounds < 100'000; ++rounds) {
    Result<RedisReply> page =
        co_await redis.command("SCAN", cursor, "MATCH", "*" + prefix + "*", "COUNT", "1000");
    if (!page.ok() || !page->is_array() || page->elements().size() != 2) co_return;
    cursor = page->elements()[0].text();
    for (const RedisReply& key : page->elements()[1].elements())
      (void)co_await redis.command("UNLINK", key.text());
    if (cursor == "0") co_return;
  }
}

}  // namespace

Result<ScenarioResult> run_on_redis(const ScenarioOptions& options, std::string_view url) {
  DISTKIT_RETURN_IF_ERROR(options.validate());
  Result<transport::RedisClientOptions> client_options = transport::parse_redis_url(url);
  if (!client_options.ok()) return client_options.status();
  client_options->request_timeout = milliseconds(500);
  client_options->connect_timeout = milliseconds(500);

  ScenarioOptions o = options;
  o.progress = nullptr;
  o.key_prefix = "distkit-sim-" + std::to_string(entropy_u64() % 1'000'000'000);
  ScenarioResult result;
  result.options = o;
  result.backend = std::string(url);
  std::unique_ptr<Primitive> primitive = find_primitive(o.primitive)->make(o);
  result.invariant = primitive->invariant();
  result.nodes.push_back("redis");
  for (int i = 0; i < o.instances; ++i)
    result.nodes.push_back("app-" + std::to_string(i));

  auto runtime = transport::AsioRuntime::start();
  const auto start = std::chrono::steady_clock::now();
  const auto true_us = [start] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  bool stop = false;
  bool released = false;
  Status reachable;
  auto body = [&]() -> Task<void> {
    // Is it there at all? A clear error beats a run of timeouts.
    transport::RedisClient probe(*runtime, *client_options);
    Result<RedisReply> pong = co_await probe.command("PING");
    if (!pong.ok()) {
      reachable =
          unavailable_error("no Redis at " + std::string(url) + ": " + pong.status().to_string());
      co_return;
    }
    std::vector<std::unique_ptr<transport::RedisClient>> clients;
    std::vector<std::unique_ptr<sim::Rng>> rngs;
    std::vector<std::unique_ptr<InstanceEnv>> envs;
    int finished = 0;
    for (int i = 0; i < o.instances; ++i) {
      clients.push_back(std::make_unique<transport::RedisClient>(*runtime, *client_options));
      rngs.push_back(
          std::make_unique<sim::Rng>(sim::Rng(o.seed).derive(static_cast<std::uint64_t>(i))));
      envs.push_back(
          std::make_unique<InstanceEnv>(InstanceEnv{.process = "app-" + std::to_string(i) + ".0",
                                                    .index = i,
                                                    .executor = runtime.get(),
                                                    .redis = clients.back().get(),
                                                    .rng = rngs.back().get(),
                                                    .options = &o,
                                                    .true_us = true_us,
                                                    .stop = &stop,
                                                    .released = &released}));
      spawn(*runtime, nullptr, primitive->run(*envs.back()), [&finished] { ++finished; });
    }
    const Duration sample_every = o.duration / o.samples;
    for (int s = 0; s <= o.samples; ++s) {
      co_await sleep_for(*runtime, sample_every);
      primitive->sample(seconds_since(start), result.timeline);
    }
    stop = true;
    for (int waited = 0;
         waited < 3000 && primitive->survivors().size() < static_cast<std::size_t>(o.instances);
         ++waited)
      co_await sleep_for(*runtime, milliseconds(10));
    co_await sleep_for(*runtime, primitive->settle_time());
    sim::Rng observer_rng(o.seed);
    InstanceEnv observer{.process = "observer",
                         .index = -1,
                         .executor = runtime.get(),
                         .redis = &probe,
                         .rng = &observer_rng,
                         .options = &o,
                         .true_us = true_us,
                         .stop = &stop,
                         .released = &released};
    co_await primitive->observe(observer);
    released = true;
    for (int waited = 0; waited < 3000 && finished < o.instances; ++waited)
      co_await sleep_for(*runtime, milliseconds(10));
    co_await remove_keys(probe, o.key_prefix);
    if (finished < o.instances) {
      // A process still runs and uses its client: keep the clients alive (leaked at
      // exit) rather than free them under it.
      for (auto& client : clients)
        (void)client.release();
      for (auto& env : envs)
        (void)env.release();
      for (auto& rng : rngs)
        (void)rng.release();
    }
  };
  block_on(*runtime, body());
  if (!reachable.ok()) return reachable;
  result.violation = primitive->check();
  result.operations = primitive->operations();
  result.simulated_seconds = seconds_since(start);
  result.wall_seconds = result.simulated_seconds;
  return result;
}

}  // namespace distkit::scenario
