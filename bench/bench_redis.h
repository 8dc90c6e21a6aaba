// What the Redis benchmarks share: one redis-server for the whole process (started
// by the test fixture on a free loopback port), a raw hiredis connection for the
// baselines, and an AsioRuntime with a RedisClient for distkit's side.
#ifndef DISTKIT_BENCH_BENCH_REDIS_H_
#define DISTKIT_BENCH_BENCH_REDIS_H_

#include <hiredis/hiredis.h>

#include <functional>
#include <memory>

#include "distkit/core/async/task.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/tests/support/redis_fixture.h"
#include "distkit/transport/redis_client.h"

namespace distkit::bench {

struct BenchRedis {
  std::unique_ptr<test_support::RedisServer> server;
  redisContext* hiredis = nullptr;  // for baselines
  std::unique_ptr<transport::AsioRuntime> runtime;
  std::unique_ptr<transport::RedisClient> client;

  [[nodiscard]] bool ok() const {
    return hiredis != nullptr && hiredis->err == 0 && client != nullptr;
  }
  // SCRIPT LOAD through the hiredis connection, so EVALSHA baselines find it.
  void load(const RedisScript& script);
  // Reads and frees `n` pipelined replies; false if the connection failed.
  bool drain(int n);

  // The process-wide instance (started on first use, never stopped: the fixture's
  // guarantees stop the server when the process exits).
  static BenchRedis& get();
};

// Runs `callers` coroutines on `executor`, each calling `one(caller, i)` for i in
// [0, per_caller); returns how many calls reported failure (false). Waits for them
// through yields, never sleeping on real time.
inline Task<int> run_callers(Executor& executor, int callers, int per_caller,
                             std::function<Task<bool>(int, int)> one) {
  int failures = 0;
  int finished = 0;
  TaskScope scope;
  auto caller = [&](int id) -> Task<void> {
    for (int i = 0; i < per_caller; ++i) {
      if (!co_await one(id, i)) ++failures;
    }
    ++finished;
  };
  for (int c = 0; c < callers; ++c)
    spawn(executor, &scope, caller(c));
  while (finished < callers)
    co_await yield(executor);
  co_return failures;
}

}  // namespace distkit::bench

#endif  // DISTKIT_BENCH_BENCH_REDIS_H_
