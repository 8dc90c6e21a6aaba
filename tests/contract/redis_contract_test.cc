// The RedisConnection contract, written once and run on every backend: the
// simulator (World + InMemoryRedis over the simulated network), a real redis-server
// through transport::RedisClient, and a real 3-master Redis Cluster through
// transport::RedisClusterClient.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>

#include "distkit/core/seam/redis_connection.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using RedisContract = test_support::BackendTest;

TEST_P(RedisContract, RepliesAndServerErrors) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    EXPECT_THAT(co_await conn.command("SET", "k", 41),
                IsOkAndHolds(RedisReply::simple_string("OK")));
    EXPECT_THAT(co_await conn.command("INCR", "k"), IsOkAndHolds(RedisReply::integer(42)));
    EXPECT_THAT(co_await conn.command("GET", "k"), IsOkAndHolds(RedisReply::bulk_string("42")));
    EXPECT_TRUE((co_await conn.command("GET", "missing"))->is_nil());
    Result<RedisReply> wrong = co_await conn.command("HGET", "k", "f");
    EXPECT_EQ(wrong.status().code(), StatusCode::kServerError);
    EXPECT_EQ(wrong.status().server_error_prefix(), "WRONGTYPE");
    Result<RedisReply> unknown = co_await conn.command("NOSUCHCOMMAND");
    EXPECT_EQ(unknown.status().server_error_prefix(), "ERR");
    Result<RedisReply> empty = co_await conn.execute(RedisCommand{});
    EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
    const std::string binary("a\0b\r\nc", 6);
    (void)co_await conn.command("SET", "bin", binary);
    EXPECT_THAT(co_await conn.command("GET", "bin"), IsOkAndHolds(RedisReply::bulk_string(binary)));
  });
}

TEST_P(RedisContract, PipelinesKeepOrderAndJudgeEachCommand) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    std::vector<RedisCommand> commands;
    for (int i = 1; i <= 100; ++i)
      commands.push_back({"INCRBY", "n", std::to_string(i)});
    commands.push_back({"HSET", "n", "f", "v"});
    commands.push_back({"GET", "n"});
    std::vector<Result<RedisReply>> got = co_await conn.execute_pipeline(std::move(commands));
    EXPECT_EQ(got.size(), 102u);
    std::int64_t sum = 0;
    for (int i = 1; i <= 100; ++i) {
      sum += i;
      EXPECT_EQ(*got[i - 1], RedisReply::integer(sum));
    }
    EXPECT_EQ(got[100].status().server_error_prefix(), "WRONGTYPE");
    EXPECT_EQ(*got[101], RedisReply::bulk_string("5050"));
    EXPECT_TRUE((co_await conn.execute_pipeline(std::vector<RedisCommand>())).empty());
  });
}

TEST_P(RedisContract, ManyConcurrentCallersShareOneConnection) {
  backend_->run([](RedisConnection& conn, Executor& ex) -> Task<void> {
    std::vector<std::int64_t> seen;
    int finished = 0;
    TaskScope scope;
    auto caller = [&](int id) -> Task<void> {
      for (int i = 0; i < 20; ++i) {
        Result<RedisReply> r = co_await conn.command("INCR", "shared");
        if (r.ok()) seen.push_back(r->integer_value());
        // Each caller also checks its own ordering on its own key.
        Result<RedisReply> mine = co_await conn.command("INCR", "caller:" + std::to_string(id));
        EXPECT_EQ(*mine, RedisReply::integer(i + 1));
      }
      ++finished;
    };
    for (int c = 0; c < 64; ++c)
      spawn(ex, &scope, caller(c));
    while (finished < 64)
      co_await sleep_for(ex, milliseconds(1));
    EXPECT_EQ(seen.size(), 64u * 20u);
    std::set<std::int64_t> distinct(seen.begin(), seen.end());
    EXPECT_EQ(distinct.size(), seen.size()) << "no reply went to the wrong caller";
    EXPECT_EQ(*distinct.begin(), 1);
    EXPECT_EQ(*distinct.rbegin(), 64 * 20);
  });
}

TEST_P(RedisContract, ScriptsRunBySha1AndSurviveAScriptFlush) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    static const RedisScript kScript("return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])");
    const std::vector<std::string> keys(1, "{c}:h");
    const std::vector<std::string> args = {"f", "3"};
    EXPECT_THAT(co_await conn.eval(kScript, keys, args), IsOkAndHolds(RedisReply::integer(3)));
    // EVAL caches a script where it ran (one node of a cluster); SCRIPT LOAD, everywhere.
    EXPECT_THAT(co_await conn.command("SCRIPT", "LOAD", kScript.source()),
                IsOkAndHolds(RedisReply::bulk_string(kScript.sha1())));
    const RedisReply cached = RedisReply::array({RedisReply::integer(1)});
    EXPECT_THAT(co_await conn.command("SCRIPT", "EXISTS", kScript.sha1()), IsOkAndHolds(cached));
    (void)co_await conn.command("SCRIPT", "FLUSH");
    EXPECT_EQ((co_await conn.command("EVALSHA", kScript.sha1(), "1", "{c}:h", "f", "3"))
                  .status()
                  .server_error_prefix(),
              "NOSCRIPT");
    EXPECT_THAT(co_await conn.eval(kScript, keys, args), IsOkAndHolds(RedisReply::integer(6)))
        << "eval() fell back to EVAL once";
    (void)co_await conn.command("SCRIPT", "FLUSH");
    std::vector<ScriptCall> calls(5, ScriptCall{&kScript, keys, args});
    std::vector<Result<RedisReply>> got = co_await conn.eval_pipeline(calls);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(*got[i], RedisReply::integer(9 + 3 * i)) << i;
    static const RedisScript kIncr("return redis.call('INCR', KEYS[1])");
    Result<RedisReply> failing = co_await conn.eval(kIncr, keys, std::vector<std::string>());
    EXPECT_EQ(failing.status().server_error_prefix(), "WRONGTYPE");
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(RedisContract);

}  // namespace
}  // namespace distkit
