// What the Redis benchmarks share: one redis-server for the whole process (started
// by the test fixture on a free loopback port), a raw hiredis connection for the
// baselines, and an AsioRuntime with a RedisClient for distkit's side.
#ifndef DISTKIT_BENCH_BENCH_REDIS_H_
#define DISTKIT_BENCH_BENCH_REDIS_H_

#include <hiredis/hiredis.h>

#include <memory>

#include "distkit/core/redis_connection.h"
#include "distkit/tests/redis_fixture.h"
#include "distkit/transport/redis_client.h"

namespace distkit::bench {

struct BenchRedis {
  std::unique_ptr<testing::RedisServer> server;
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

}  // namespace distkit::bench

#endif  // DISTKIT_BENCH_BENCH_REDIS_H_
