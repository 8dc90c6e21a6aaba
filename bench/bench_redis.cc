#include "distkit/bench/bench_redis.h"

#include <cstdio>

namespace distkit::bench {

BenchRedis& BenchRedis::get() {
  static BenchRedis* instance = [] {
    auto* out = new BenchRedis();
    auto server = testing::RedisServer::start();
    if (!server.ok()) {
      std::fprintf(stderr, "cannot start redis-server: %s\n", server.status().to_string().c_str());
      return out;
    }
    out->server = std::move(*server);
    out->hiredis = redisConnect("127.0.0.1", out->server->port());
    out->runtime = transport::AsioRuntime::start();
    transport::RedisClientOptions options;
    options.port = static_cast<std::uint16_t>(out->server->port());
    out->client = std::make_unique<transport::RedisClient>(*out->runtime, options);
    return out;
  }();
  return *instance;
}

void BenchRedis::load(const RedisScript& script) {
  if (hiredis == nullptr) return;
  auto* r = static_cast<redisReply*>(
      redisCommand(hiredis, "SCRIPT LOAD %b", script.source().data(), script.source().size()));
  if (r != nullptr) freeReplyObject(r);
}

bool BenchRedis::drain(int n) {
  for (int i = 0; i < n; ++i) {
    void* reply = nullptr;
    if (redisGetReply(hiredis, &reply) != REDIS_OK) return false;
    freeReplyObject(reply);
  }
  return true;
}

}  // namespace distkit::bench
