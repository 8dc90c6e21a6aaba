#include "counter_simulation.h"

#include <charconv>
#include <map>

#include "distkit/sim/world/world.h"

namespace distkit::examples {
namespace {

// The smallest useful Redis: INCRBY and GET on integer keys, data lost on restart.
class CounterServer final : public sim::ServerModel {
 public:
  RedisReply execute(sim::ClientId, const RedisCommand& command, sim::ServerEnv&) override {
    if (command.size() == 3 && command[0] == "INCRBY") {
      std::int64_t by = 0;
      auto [end, error] =
          std::from_chars(command[2].data(), command[2].data() + command[2].size(), by);
      if (error != std::errc() || end != command[2].data() + command[2].size()) {
        return RedisReply::error("ERR value is not an integer or out of range");
      }
      return RedisReply::integer(values_[command[1]] += by);
    }
    if (command.size() == 2 && command[0] == "GET") {
      auto it = values_.find(command[1]);
      return it == values_.end() ? RedisReply::nil()
                                 : RedisReply::bulk_string(std::to_string(it->second));
    }
    return RedisReply::error("ERR unknown command '" + command[0] + "'");
  }
  void disconnect(sim::ClientId) override {}
  void restart(sim::DataLoss loss, sim::ServerEnv&) override {
    if (loss != sim::DataLoss::kNone) values_.clear();
  }
  void flush_scripts() override {}

 private:
  std::map<std::string, std::int64_t> values_;
};

}  // namespace

CounterSimulationResult run_counter_simulation(const CounterSimulationOptions& options) {
  using namespace std::chrono_literals;
  CounterSimulationResult result;
  sim::World world(
      {.seed = options.seed,
       .default_link = {
           .latency = {.min = 200us, .max = 2ms, .tail_probability = 0.01, .tail = 100ms}}});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<CounterServer>());
  for (int i = 0; i < options.instances; ++i) {
    world.add_instance(
        "app-" + std::to_string(i), [&, redis](sim::NodeContext& node) -> Task<void> {
          auto conn =
              node.connect_redis(redis, {.request_timeout = 200ms, .connect_timeout = 200ms});
          while (true) {
            const std::int64_t by = node.rng().between(1, 10);
            // Record the invocation before sending: if this instance crashes before the
            // reply, the increment stays "unknown", which is what it is.
            result.unknown += by;
            ++result.operations;
            Result<RedisReply> reply = co_await conn->command("INCRBY", "hits", by);
            switch (reply.status().code()) {
              case StatusCode::kOk:
                result.unknown -= by;
                result.acknowledged += by;
                break;
              case StatusCode::kUnknownOutcome:
                break;
              default:
                result.unknown -= by;
                result.unavailable += by;
            }
            co_await sleep_for(node.executor(),
                               std::chrono::microseconds(node.rng().between(500, 5000)));
          }
        });
  }
  result.fault_description = sim::describe(options.faults, world);
  if (Status valid = sim::validate(options.faults, world); !valid.ok()) {
    result.fault_description = valid.to_string();
    return result;
  }
  // A Redis restart without persistence loses acknowledged increments: that is a
  // property of the deployment, not of the client, so this example keeps data on
  // restart and its checker stays exact.
  sim::FaultSchedule faults = options.faults;
  for (sim::FaultEvent& e : faults.events) {
    if (e.kind == sim::FaultKind::kRedisRestart)
      e.value = static_cast<std::int64_t>(sim::DataLoss::kNone);
  }
  sim::run_chaos_then_heal(world, faults, options.chaos, options.healing);

  // Read the counter from a fresh observer once everything has healed.
  bool done = false;
  world.add_instance("observer", [&, redis](sim::NodeContext& node) -> Task<void> {
    for (NodeId id : world.instances()) {
      if (world.name(id) != "observer") world.crash(id);  // freeze the workload
    }
    auto conn = node.connect_redis(redis);
    Result<RedisReply> value = co_await conn->command("GET", "hits");
    if (value.ok() && value->is_bulk_string()) result.final_value = std::stoll(value->text());
    done = true;
  });
  world.run_until([&] { return done; }, world.now() + 10s);
  result.events = world.events_run();
  result.trace_hash = world.trace_hash();
  result.simulated_seconds = std::chrono::duration<double>(world.now()).count();
  result.bounds_hold = result.acknowledged <= result.final_value &&
                       result.final_value <= result.acknowledged + result.unknown;
  return result;
}

}  // namespace distkit::examples
