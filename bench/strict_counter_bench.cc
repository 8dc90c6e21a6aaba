// StrictCounter::inc through RedisClient (64 callers, one connection) against raw
// hiredis sending EVALSHA of the very same script 16-deep pipelined, same server,
// same run: what the counter API and the client cost on top of the script itself.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>

#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/strict_counter.h"
#include "distkit/tests/redis_fixture.h"
#include "distkit/transport/redis_client.h"

namespace distkit {
namespace {

constexpr int kBatch = 1024;
constexpr int kCallers = 64;

struct Setup {
  std::unique_ptr<testing::RedisServer> server;
  redisContext* hiredis = nullptr;
  std::unique_ptr<transport::AsioRuntime> runtime;
  std::unique_ptr<transport::RedisClient> client;
};

Setup& setup() {
  static Setup* s = [] {
    auto* out = new Setup();
    auto server = testing::RedisServer::start();
    if (!server.ok()) {
      std::fprintf(stderr, "cannot start redis-server: %s\n", server.status().to_string().c_str());
      return out;
    }
    out->server = std::move(*server);
    out->hiredis = redisConnect("127.0.0.1", out->server->port());
    const std::string& source = StrictCounter::inc_script().source();
    auto* r = static_cast<redisReply*>(redisCommand(out->hiredis, "SCRIPT LOAD %b", source.data(), source.size()));
    if (r != nullptr) freeReplyObject(r);
    out->runtime = transport::AsioRuntime::start();
    transport::RedisClientOptions options;
    options.port = static_cast<std::uint16_t>(out->server->port());
    out->client = std::make_unique<transport::RedisClient>(*out->runtime, options);
    return out;
  }();
  return *s;
}

void BM_Baseline_Inc(benchmark::State& state) {
  Setup& s = setup();
  if (s.hiredis == nullptr) return state.SkipWithError("no redis-server");
  const std::string& sha = StrictCounter::inc_script().sha1();
  int key = 0;
  for (auto _ : state) {
    for (int sent = 0; sent < kBatch; sent += 16) {
      for (int j = 0; j < 16; ++j) {
        const std::string field = "k" + std::to_string(key++ & 63);
        redisAppendCommand(s.hiredis, "EVALSHA %s 1 {bench}:strict_counter %s always 0 1", sha.c_str(),
                           field.c_str());
      }
      for (int j = 0; j < 16; ++j) {
        void* reply = nullptr;
        if (redisGetReply(s.hiredis, &reply) != REDIS_OK) return state.SkipWithError("hiredis failed");
        freeReplyObject(reply);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

Task<int> increments(StrictCounter& counter, Executor& executor) {
  int failures = 0;
  int finished = 0;
  TaskScope scope;
  auto caller = [&](int id) -> Task<void> {
    for (int i = 0; i < kBatch / kCallers; ++i) {
      if (!(co_await counter.inc("k" + std::to_string((id * 16 + i) & 63))).ok()) ++failures;
    }
    ++finished;
  };
  for (int c = 0; c < kCallers; ++c) spawn(executor, &scope, caller(c));
  while (finished < kCallers) co_await yield(executor);
  co_return failures;
}

void BM_StrictCounter_Inc(benchmark::State& state) {
  Setup& s = setup();
  if (s.client == nullptr) return state.SkipWithError("no redis-server");
  StrictCounter counter = *StrictCounter::create(*s.client, "bench");
  for (auto _ : state) {
    if (block_on(*s.runtime, increments(counter, *s.runtime)) != 0) return state.SkipWithError("inc failed");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_Baseline_Inc)->UseRealTime();
BENCHMARK(BM_StrictCounter_Inc)->UseRealTime();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
