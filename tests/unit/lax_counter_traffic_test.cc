// What a LaxCounter sends to Redis: N increments over K keys within one flush
// interval become one flush script per batch of up to max_batch keys, not N
// commands; counted on the simulator's in-memory Redis behind a counting model.
#include <gtest/gtest.h>

#include <map>

#include "distkit/core/counters/lax_counter.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;

// Counts the commands (by name) reaching the wrapped model.
class CountingModel final : public ServerModel {
 public:
  explicit CountingModel(std::map<std::string, int>& counts) : counts_(counts) {}
  RedisReply execute(ClientId client, const RedisCommand& command, ServerEnv& env) override {
    ++counts_[command[0]];
    return redis_.execute(client, command, env);
  }
  void disconnect(ClientId client) override { redis_.disconnect(client); }
  void restart(DataLoss loss, ServerEnv& env) override { redis_.restart(loss, env); }
  void flush_scripts() override { redis_.flush_scripts(); }

 private:
  InMemoryRedis redis_;
  std::map<std::string, int>& counts_;
};

struct Traffic {
  std::map<std::string, int> commands;
  std::int64_t total = 0;
};

// `increments` increments spread over `keys` keys, all within one flush interval.
Traffic measure(int increments, int keys, std::size_t max_batch) {
  Traffic traffic;
  World world({.seed = 1});
  world.add_redis_server("redis", std::make_unique<CountingModel>(traffic.commands));
  bool done = false;
  world.add_instance("app", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(0);
    LaxCounterOptions options;
    options.prefix = "traffic";
    options.instance_id = "app";
    options.session = 7;
    options.max_batch = max_batch;
    options.flush_interval = milliseconds(20);
    auto lax = std::move(*LaxCounter::create(*conn, node.executor(), options));
    for (int i = 0; i < increments; ++i)
      (void)lax->inc("k" + std::to_string(i % keys));
    co_await sleep_for(node.executor(), milliseconds(30));  // one flush interval passes
    traffic.total = value_or_failure(co_await lax->get("k0"));
    (void)co_await lax->shutdown();
    done = true;
  });
  world.run_until([&] { return done; }, world.now() + std::chrono::seconds(10));
  return traffic;
}

int scripts(const Traffic& t) {
  int n = 0;
  for (const char* name : {"EVALSHA", "EVAL"}) {
    auto it = t.commands.find(name);
    if (it != t.commands.end()) n += it->second;
  }
  return n;
}

TEST(LaxCounterTraffic, ThousandsOfIncrementsBecomeOneScriptPerBatch) {
  // 10,000 increments over 10 keys: one batch, so one flush script (plus the EVAL
  // that loads it the first time, after NOSCRIPT).
  Traffic t = measure(10'000, 10, 100);
  EXPECT_EQ(t.commands["EVALSHA"], 1) << "the first try, answered NOSCRIPT";
  EXPECT_EQ(t.commands["EVAL"], 1) << "sent once, with the source";
  EXPECT_EQ(scripts(t), 2);
  EXPECT_EQ(t.total, 1'000) << "k0 got every 10th increment";
  std::printf("10000 increments over 10 keys -> %d script executions\n", scripts(t));
}

TEST(LaxCounterTraffic, ManyKeysAreSplitIntoBatchesOfMaxBatch) {
  // 1,000 keys with max_batch 100: ten batches, the first one also loading the script.
  Traffic t = measure(5'000, 1'000, 100);
  EXPECT_EQ(scripts(t), 11);
  std::printf("5000 increments over 1000 keys -> %d script executions\n", scripts(t));
}

}  // namespace
}  // namespace distkit::sim
