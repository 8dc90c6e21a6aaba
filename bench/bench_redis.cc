#include "distkit/bench/bench_redis.h"

#include <cstdio>
#include <cstdlib>

namespace distkit::bench {

BenchRedis& BenchRedis::get() {
  static BenchRedis* instance = [] {
    auto* out = new BenchRedis();
    int port = 0;
    // `make bench` runs every suite and the npm peer against one server it started.
    if (const char* given = std::getenv("DISTKIT_BENCH_REDIS_PORT")) {
      port = std::atoi(given);
      if (port <= 0 || port > 65535) {
        std::fprintf(stderr, "DISTKIT_BENCH_REDIS_PORT is not a port: '%s'\n", given);
        return out;
      }
    } else {
      auto server = test_support::RedisServer::start();
      if (!server.ok()) {
        std::fprintf(stderr, "cannot start redis-server: %s\n",
                     server.status().to_string().c_str());
        return out;
      }
      out->server = std::move(*server);
      port = out->server->port();
    }
    out->hiredis = redisConnect("127.0.0.1", port);
    if (out->hiredis == nullptr || out->hiredis->err != 0) {
      std::fprintf(stderr, "cannot connect to redis on port %d\n", port);
      if (out->hiredis != nullptr) redisFree(out->hiredis);
      out->hiredis = nullptr;
      return out;
    }
    out->runtime = transport::AsioRuntime::start();
    transport::RedisClientOptions options;
    options.port = static_cast<std::uint16_t>(port);
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
