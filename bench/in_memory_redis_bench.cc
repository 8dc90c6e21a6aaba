// The in-memory Redis against a real redis-server (started by the test fixture on a
// loopback port) doing the same commands, 16-deep pipelined through hiredis, in the
// same process. BM_Baseline_<Cmd> is the real server; BM_InMemory_<Cmd> the
// simulator's model, called directly (no sockets, no parsing): ratio < 1 is faster.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <functional>
#include <memory>

#include "distkit/bench/bench_redis.h"
#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/sim/redis/in_memory_redis.h"

namespace distkit {
namespace {

using bench::BenchRedis;

constexpr int kDepth = 16;
const RedisScript kHincrby("return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)");

// The command of iteration i (keys vary a little, as real traffic does).
using CommandFor = std::function<RedisCommand(int)>;

struct Case {
  const char* name;
  CommandFor command;
};

const Case kCases[] = {
    {"Set",
     [](int i) {
       return RedisCommand{"SET", "k" + std::to_string(i & 63), "value"};
     }},
    {"Get",
     [](int i) {
       return RedisCommand{"GET", "k" + std::to_string(i & 63)};
     }},
    {"Incr",
     [](int i) {
       return RedisCommand{"INCR", "n" + std::to_string(i & 63)};
     }},
    {"Hincrby",
     [](int i) {
       return RedisCommand{"HINCRBY", "h", "f" + std::to_string(i & 63), "1"};
     }},
    {"Zadd",
     [](int i) {
       return RedisCommand{"ZADD", "z", std::to_string(i & 1023), "m" + std::to_string(i & 1023)};
     }},
    {"EvalshaHincrby",
     [](int i) {
       return RedisCommand{"EVALSHA", kHincrby.sha1(), "1", "{c}:h", "f" + std::to_string(i & 63)};
     }},
};

void BM_Baseline(benchmark::State& state, const Case& c) {
  BenchRedis& r = BenchRedis::get();
  if (!r.ok()) return state.SkipWithError("no redis-server");
  r.load(kHincrby);
  int i = 0;
  for (auto _ : state) {
    // One item per command; a batch of kDepth is sent per kDepth iterations.
    const RedisCommand command = c.command(i++);
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& a : command) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    redisAppendCommandArgv(r.hiredis, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (i % kDepth == 0 && !r.drain(kDepth)) return state.SkipWithError("redis connection failed");
  }
  (void)r.drain(i % kDepth);
  state.SetItemsProcessed(state.iterations());
}

void BM_InMemory(benchmark::State& state, const Case& c) {
  sim::InMemoryRedis redis;
  sim::Rng rng(1);
  sim::ServerEnv env{WallTime(std::chrono::seconds(1'767'225'600)), &rng};
  (void)redis.execute(1, {"SCRIPT", "LOAD", kHincrby.source()}, env);
  int i = 0;
  for (auto _ : state) {
    RedisReply reply = redis.execute(1, c.command(i++), env);
    benchmark::DoNotOptimize(reply);
  }
  state.SetItemsProcessed(state.iterations());
}

const bool kRegistered = [] {
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("BM_Baseline_") + c.name).c_str(), BM_Baseline, c);
    benchmark::RegisterBenchmark((std::string("BM_InMemory_") + c.name).c_str(), BM_InMemory, c);
  }
  return true;
}();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
