// InMemoryRedis: command families, expiry on the server's clock, scripts and the
// script cache, transactions, faults, and regression tests named after known
// emulator bugs (reference/simulation.md §3) and after the differential test's finds.
#include "distkit/sim/redis/in_memory_redis.h"

#include <gtest/gtest.h>

#include <set>

#include "distkit/sim/world/world.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RedisReply I(std::int64_t v) {
  return RedisReply::integer(v);
}
RedisReply B(std::string s) {
  return RedisReply::bulk_string(std::move(s));
}
RedisReply S(std::string s) {
  return RedisReply::simple_string(std::move(s));
}
RedisReply A(std::vector<RedisReply> v) {
  return RedisReply::array(std::move(v));
}
RedisReply Nil() {
  return RedisReply::nil();
}

class InMemoryRedisTest : public ::testing::Test {
 protected:
  RedisReply run(RedisCommand command, ClientId client = 1) {
    ServerEnv env{now_, &rng_};
    RedisReply reply = redis_.execute(client, command, env);
    last_busy_ = env.extra_busy;
    return reply;
  }
  RedisReply eval(std::string script, std::vector<std::string> keys = {},
                  std::vector<std::string> args = {}) {
    RedisCommand c = {"EVAL", std::move(script), std::to_string(keys.size())};
    c.insert(c.end(), keys.begin(), keys.end());
    c.insert(c.end(), args.begin(), args.end());
    return run(std::move(c));
  }
  std::string_view code(const RedisReply& r) { return r.error_prefix(); }
  void advance(Duration d) { now_ += d; }

  InMemoryRedis redis_;
  Rng rng_{7};
  WallTime now_ = WallTime(seconds(1'767'225'600));
  Duration last_busy_{0};
};

// ---- Strings, expiry -------------------------------------------------------------------

TEST_F(InMemoryRedisTest, StringsAndCounters) {
  EXPECT_EQ(run({"SET", "k", "10"}), S("OK"));
  EXPECT_EQ(run({"INCRBY", "k", "-15"}), I(-5));
  EXPECT_EQ(run({"INCRBY", "k", "x"}),
            RedisReply::error("ERR value is not an integer or out of range"));
  EXPECT_EQ(run({"SET", "big", "9223372036854775807"}), S("OK"));
  EXPECT_EQ(code(run({"INCR", "big"})), "ERR");
  EXPECT_EQ(run({"GET", "big"}), B("9223372036854775807")) << "a failed INCR changes nothing";
  EXPECT_EQ(run({"SET", "s", "007"}), S("OK"));
  EXPECT_EQ(code(run({"INCR", "s"})), "ERR") << "leading zeros are not an integer (string2ll)";
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "10.5"}), B("10.5"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "0.1"}), B("10.6"));
  EXPECT_EQ(run({"HSET", "h", "a", "1"}), I(1));
  EXPECT_EQ(code(run({"GET", "h"})), "WRONGTYPE");
  EXPECT_EQ(run({"SET", "n", "v", "NX", "GET"}), Nil());
  EXPECT_EQ(run({"SET", "n", "w", "NX", "GET"}), B("v"));
  EXPECT_EQ(run({"GET", "n"}), B("v"));
}

TEST_F(InMemoryRedisTest, KeysExpireOnTheServersClockWithoutFastForward) {  // miniredis#48
  EXPECT_EQ(run({"SET", "k", "v", "PX", "1500"}), S("OK"));
  EXPECT_EQ(run({"PTTL", "k"}), I(1500));
  EXPECT_EQ(run({"TTL", "k"}), I(2)) << "TTL rounds (ms + 500) / 1000";
  advance(milliseconds(1500));
  EXPECT_EQ(run({"GET", "k"}), B("v")) << "expired only once now > expiry";
  advance(milliseconds(1));
  EXPECT_EQ(run({"GET", "k"}), Nil());
  EXPECT_EQ(run({"TTL", "k"}), I(-2));
  EXPECT_EQ(run({"SET", "p", "v"}), S("OK"));
  EXPECT_EQ(run({"TTL", "p"}), I(-1));
  EXPECT_EQ(run({"EXPIRE", "p", "0"}), I(1)) << "EXPIRE <= 0 deletes";
  EXPECT_EQ(run({"EXISTS", "p"}), I(0));
}

TEST_F(InMemoryRedisTest, IncrKeepsTheTtlAndSetClearsIt) {  // checklist C1
  run({"SET", "k", "1", "EX", "100"});
  run({"INCR", "k"});
  EXPECT_EQ(run({"TTL", "k"}), I(100));
  run({"SET", "k", "5"});
  EXPECT_EQ(run({"TTL", "k"}), I(-1));
  run({"SET", "k", "6", "EX", "50"});
  run({"SET", "k", "7", "KEEPTTL"});
  EXPECT_EQ(run({"TTL", "k"}), I(50));
}

TEST_F(InMemoryRedisTest, ExpireOptionsTreatNoTtlAsInfinite) {  // checklist C3
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"EXPIRE", "k", "100", "GT"}), I(0));
  EXPECT_EQ(run({"EXPIRE", "k", "100", "LT"}), I(1));
  EXPECT_EQ(run({"EXPIRE", "k", "50", "GT"}), I(0));
  EXPECT_EQ(run({"EXPIRE", "k", "200", "XX"}), I(1));
  EXPECT_EQ(run({"EXPIRE", "k", "300", "NX"}), I(0));
  EXPECT_EQ(code(run({"EXPIRE", "k", "1", "NX", "XX"})), "ERR");
}

TEST_F(InMemoryRedisTest, SetWithAPastPxatLeavesALogicallyExpiredKey) {  // found by differential
  EXPECT_EQ(run({"SET", "k", "v", "PXAT", "1"}), S("OK"));
  EXPECT_EQ(run({"DBSIZE"}), I(1)) << "Redis 7.0 counts it until it is touched";
  EXPECT_EQ(run({"GET", "k"}), Nil());
  EXPECT_EQ(run({"DBSIZE"}), I(0));
}

// ---- Hashes, sets, sorted sets ------------------------------------------------------------

TEST_F(InMemoryRedisTest, HashesSetsAndEmptyCollectionsDisappear) {
  EXPECT_EQ(run({"HSET", "h", "a", "1", "b", "2"}), I(2));
  EXPECT_EQ(run({"HINCRBY", "h", "a", "41"}), I(42));
  EXPECT_EQ(run({"HGETALL", "h"}), A({B("a"), B("42"), B("b"), B("2")}))
      << "a flat array (ioredis-mock PR #1151)";
  EXPECT_EQ(run({"HSET", "h", "s", "x"}), I(1));
  EXPECT_EQ(run({"HINCRBY", "h", "s", "1"}), RedisReply::error("ERR hash value is not an integer"));
  EXPECT_EQ(run({"HDEL", "h", "a", "b", "s"}), I(3));
  EXPECT_EQ(run({"EXISTS", "h"}), I(0)) << "an emptied hash is deleted";
  EXPECT_EQ(run({"SADD", "s", "x", "y", "x"}), I(2));
  EXPECT_EQ(run({"SREM", "s", "x", "y"}), I(2));
  EXPECT_EQ(run({"TYPE", "s"}), S("none"));
}

TEST_F(InMemoryRedisTest, HscanWalksAHashInBoundedStepsAndFilters) {
  for (int i = 0; i < 25; ++i)
    run({"HSET", "h", "f" + std::to_string(100 + i), std::to_string(i)});
  run({"HSET", "h", ":meta", "x"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    RedisReply r = run({"HSCAN", "h", cursor, "MATCH", "f*", "COUNT", "10"});
    ASSERT_TRUE(r.is_array() && r.elements().size() == 2) << r;
    cursor = r.elements()[0].text();
    const auto& flat = r.elements()[1].elements();
    ASSERT_EQ(flat.size() % 2, 0u);
    EXPECT_LE(flat.size(), 20u) << "COUNT bounds the work of one call";
    for (std::size_t i = 0; i < flat.size(); i += 2) {
      EXPECT_EQ(run({"HGET", "h", flat[i].text()}), flat[i + 1]);
      seen.insert(flat[i].text());
    }
    ++calls;
  } while (cursor != "0" && calls < 100);
  EXPECT_EQ(seen.size(), 25u) << "every field once, :meta filtered out";
  EXPECT_GE(calls, 3);
  EXPECT_EQ(run({"HSCAN", "missing", "0"}), A({B("0"), A({})}));
  EXPECT_EQ(code(run({"HSCAN", "h", "x"})), "ERR");
  EXPECT_EQ(code(run({"HSCAN", "h", "0", "TYPE", "hash"})), "ERR") << "TYPE is SCAN's only";
  run({"SET", "s", "1"});
  EXPECT_EQ(code(run({"HSCAN", "s", "0"})), "WRONGTYPE");
}

TEST_F(InMemoryRedisTest,
       HincrbyfloatRejectsAnInfiniteIncrementBeforeTheTypeCheck) {  // differential
  run({"SET", "k", "0.1"});
  EXPECT_EQ(run({"HINCRBYFLOAT", "k", "f", "-inf"}),
            RedisReply::error("ERR value is NaN or Infinity"));
  EXPECT_EQ(code(run({"HINCRBYFLOAT", "k", "f", "1"})), "WRONGTYPE");
}

TEST_F(InMemoryRedisTest, SortedSetRangesAndOptions) {
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2", "b", "2", "c", "+inf", "d"}), I(4));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1"}), A({B("a"), B("b"), B("c"), B("d")}))
      << "equal scores order by member";
  EXPECT_EQ(run({"ZRANGE", "z", "(1", "2", "BYSCORE"}), A({B("b"), B("c")}));
  EXPECT_EQ(run({"ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "2"}),
            A({B("d"), B("c")}));
  EXPECT_EQ(run({"ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "1", "WITHSCORES"}),
            A({B("a"), B("1")}));
  EXPECT_EQ(run({"ZADD", "z", "GT", "CH", "1", "b", "5", "c"}), I(1));
  EXPECT_EQ(run({"ZADD", "z", "XX", "INCR", "1.5", "zz"}), Nil());
  EXPECT_EQ(run({"ZINCRBY", "z", "0.1", "a"}), B("1.1000000000000001")) << "%.17g, as 7.0";
  EXPECT_EQ(run({"ZSCORE", "z", "d"}), B("inf"));
  EXPECT_EQ(code(run({"ZINCRBY", "z", "-inf", "d"})), "ERR") << "inf - inf is NaN";
  EXPECT_EQ(run({"ZREMRANGEBYSCORE", "z", "-inf", "(5"}), I(2));
  EXPECT_EQ(run({"ZRANK", "z", "d"}), I(1));
  EXPECT_EQ(code(run({"ZRANGE", "z", "0", "1", "LIMIT", "0", "1"})), "ERR");
}

// ---- Lua -------------------------------------------------------------------------------

TEST_F(InMemoryRedisTest, NilBecomesFalseInLua) {  // miniredis#43, ioredis-mock PR #819
  EXPECT_EQ(eval("return redis.call('GET', 'missing') == false"), I(1));
  EXPECT_EQ(eval("return {redis.call('GET', 'missing'), 1}"), A({Nil(), I(1)}))
      << "false converts back to nil, arrays keep no hole";
  EXPECT_EQ(eval("return 0"), I(0)) << "0 is not nil";
}

TEST_F(InMemoryRedisTest, StatusRepliesAreOkTablesInLua) {  // miniredis#255, redis#3231
  EXPECT_EQ(eval("return type(redis.call('SET', 'k', 'v'))"), B("table"));
  EXPECT_EQ(eval("return redis.call('SET', 'k', 'v').ok"), B("OK"));
  EXPECT_EQ(eval("return redis.call('TYPE', 'k') == 'string'"), Nil());
  EXPECT_EQ(eval("return redis.call('SET', 'k', 'v')"), S("OK"));
}

TEST_F(InMemoryRedisTest, LuaNumbersTruncateAndFormatAsRedis70) {  // miniredis#117
  EXPECT_EQ(eval("return 3.99"), I(3));
  EXPECT_EQ(eval("return -3.99"), I(-3));
  EXPECT_EQ(eval("return 1000000.5"), I(1000000));
  eval("redis.call('SET', 'k', 1e6)");
  EXPECT_EQ(run({"GET", "k"}), B("1000000"));
  eval("redis.call('SET', 'k', 0.1)");
  EXPECT_EQ(run({"GET", "k"}), B("0.10000000000000001")) << "%.17g in 7.0";
  EXPECT_EQ(eval("return tostring(2^53)"), B("9.007199254741e+15")) << "Lua's own %.14g";
}

TEST_F(InMemoryRedisTest, ReturnConversions) {  // ioredis-mock #1043, checklist L1-L10
  EXPECT_EQ(eval("return nil"), Nil());
  EXPECT_EQ(eval("return true"), I(1));
  EXPECT_EQ(eval("return false"), Nil());
  EXPECT_EQ(eval("return {1, nil, 3}"), A({I(1)}));
  EXPECT_EQ(eval("return {1, {2, 'x'}, {err = 'E inner'}}"),
            A({I(1), A({I(2), B("x")}), RedisReply::error("E inner")}));
  EXPECT_EQ(eval("return {err = 'MYCODE oops', ok = 'ignored'}"), RedisReply::error("MYCODE oops"));
  EXPECT_EQ(eval("return redis.error_reply('plain')"), RedisReply::error("ERR plain"));
  EXPECT_EQ(eval("return redis.status_reply('FINE')"), S("FINE"));
  EXPECT_EQ(eval("return 1, 2"), I(1));
}

TEST_F(InMemoryRedisTest, ArgumentsAndCallErrors) {  // fakeredis #269, checklist A1-A4
  EXPECT_EQ(code(eval("return redis.call('HSET', 'h', 'f', true)")), "ERR");
  EXPECT_EQ(run({"EXISTS", "h"}), I(0));
  EXPECT_EQ(eval("return redis.pcall('HSET', 'h', 'f', true)"),
            RedisReply::error("ERR Lua redis lib command arguments must be strings or integers"));
  EXPECT_EQ(eval("return redis.pcall('INCR', KEYS[1])", {"h"}), I(1));
  run({"HSET", "hh", "f", "1"});
  RedisReply wrongtype = eval("return redis.call('INCR', KEYS[1])", {"hh"});
  EXPECT_EQ(code(wrongtype), "WRONGTYPE") << "redis.call raises the command's own error";
  EXPECT_NE(wrongtype.text().find(" script: "), std::string::npos) << wrongtype.to_string();
  EXPECT_NE(wrongtype.text().find("on @user_script:1."), std::string::npos)
      << wrongtype.to_string();
  EXPECT_EQ(code(eval("return redis.call('multi')")), "ERR");
  EXPECT_EQ(code(eval("return 1", {"a"}, {})), "");
  EXPECT_EQ(run({"EVAL", "return 1", "2", "a"}),
            RedisReply::error("ERR Number of keys can't be greater than number of args"));
}

TEST_F(InMemoryRedisTest, GlobalsAreProtected) {  // checklist E2, E3
  RedisReply read = eval("return nope");
  EXPECT_NE(read.text().find("Script attempted to access nonexistent global variable 'nope'"),
            std::string::npos)
      << read.to_string();
  EXPECT_NE(eval("x = 1").text().find("Attempt to modify a readonly table"), std::string::npos);
  EXPECT_NE(eval("string.foo = 1").text().find("readonly"), std::string::npos);
  EXPECT_EQ(eval("return string.foo == nil"), I(1)) << "a library table stays unmodified";
  EXPECT_EQ(code(eval("return dofile('/etc/passwd')")), "ERR");
  EXPECT_EQ(eval("local t = {} t.x = 1 return t.x"), I(1)) << "locals are fine";
}

TEST_F(InMemoryRedisTest, WritesBeforeAScriptErrorStay) {  // checklist E6
  EXPECT_EQ(code(eval("redis.call('SET', KEYS[1], 'written') error('boom')", {"k"})), "ERR");
  EXPECT_EQ(run({"GET", "k"}), B("written"));
}

TEST_F(InMemoryRedisTest, TimeIsFrozenForAWholeScript) {  // checklist E5
  run({"SET", "k", "v", "PX", "1"});
  advance(milliseconds(1));  // now == expiry: still alive
  EXPECT_EQ(eval("local t = redis.call('TIME') for i = 1, 100000 do end "
                 "return {t[1], t[2], redis.call('GET', 'k'), redis.call('PTTL', 'k')}"),
            A({B("1767225600"), B("1000"), B("v"), I(0)}));
  EXPECT_GT(last_busy_, Duration(0)) << "the loop kept the server busy";
}

TEST_F(InMemoryRedisTest, MathRandomComesFromTheServersSeededStream) {  // checklist E4
  InMemoryRedis a, b;
  Rng ra(99), rb(99);
  ServerEnv ea{now_, &ra}, eb{now_, &rb};
  const RedisCommand script = {"EVAL", "return tostring(math.random())..' '..math.random(10)", "0"};
  EXPECT_EQ(a.execute(1, script, ea), b.execute(1, script, eb));
  const RedisReply first = a.execute(1, script, ea);
  EXPECT_NE(first, a.execute(1, script, ea)) << "7.0: not reseeded per call";
  const RedisCommand seeded = {"EVAL", "math.randomseed(5) return tostring(math.random())", "0"};
  EXPECT_EQ(a.execute(1, seeded, ea), a.execute(1, seeded, ea));
}

TEST_F(InMemoryRedisTest, RunawayScriptsStopAtTheInstructionBudget) {
  InMemoryRedis small({.script_instruction_limit = 1'000'000});
  ServerEnv env{now_, &rng_};
  RedisReply r = small.execute(1, {"EVAL", "while true do end", "0"}, env);
  EXPECT_EQ(r.error_prefix(), "ERR");
  EXPECT_NE(r.text().find("limit of 1000000 instructions"), std::string::npos) << r.to_string();
  EXPECT_GE(env.extra_busy, milliseconds(2)) << "1M instructions at 2 ns each";
}

TEST_F(InMemoryRedisTest, ScriptCacheRules) {  // checklist E7
  const std::string body = "return redis.call('INCR', 'n')";
  const std::string sha = sha1_hex(body);
  EXPECT_EQ(run({"EVALSHA", sha, "0"}),
            RedisReply::error("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_EQ(run({"SCRIPT", "LOAD", body}), B(sha));
  std::string upper_sha = sha;
  for (char& c : upper_sha)
    c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(run({"EVALSHA", upper_sha, "0"}), I(1)) << "SHAs are case-insensitive";
  // Cached after a successful compile even if the run fails; not after a compile error.
  EXPECT_EQ(code(eval("error('x')")), "ERR");
  EXPECT_EQ(run({"SCRIPT", "EXISTS", sha1_hex("error('x')"), sha1_hex("if (")}), A({I(1), I(0)}));
  EXPECT_NE(eval("if (").text().find("Error compiling script"), std::string::npos);
  EXPECT_EQ(run({"SCRIPT", "EXISTS", sha1_hex("if (")}), A({I(0)}));
  EXPECT_EQ(code(run({"EVAL", "return 2", "-1"})), "ERR");
  EXPECT_EQ(run({"SCRIPT", "EXISTS", sha1_hex("return 2")}), A({I(0)}))
      << "numkeys error: not cached";
  redis_.flush_scripts();
  EXPECT_EQ(code(run({"EVALSHA", sha, "0"})), "NOSCRIPT");
  EXPECT_EQ(redis_.cached_scripts(), 0u);
}

// ---- Transactions, faults --------------------------------------------------------------

TEST_F(InMemoryRedisTest, MultiExecPerConnection) {
  EXPECT_EQ(run({"MULTI"}, 1), S("OK"));
  EXPECT_EQ(run({"INCR", "n"}, 1), S("QUEUED"));
  EXPECT_EQ(run({"INCR", "n"}, 2), I(1)) << "another connection is not in the transaction";
  EXPECT_EQ(run({"GET", "n"}, 1), S("QUEUED"));
  EXPECT_EQ(run({"EXEC"}, 1), A({I(2), B("2")}));
  EXPECT_EQ(run({"MULTI"}, 1), S("OK"));
  EXPECT_EQ(code(run({"NOSUCH"}, 1)), "ERR");
  EXPECT_EQ(run({"INCR", "n"}, 1), S("QUEUED"));
  EXPECT_EQ(code(run({"EXEC"}, 1)), "EXECABORT");
  EXPECT_EQ(run({"GET", "n"}, 1), B("2"));
  EXPECT_EQ(code(run({"EXEC"}, 1)), "ERR");
}

TEST_F(InMemoryRedisTest, FailoverLosesOnlyTheWritesTheReplicaMissed) {
  InMemoryRedis r({.replication_lag = milliseconds(100)});
  ServerEnv env{now_, &rng_};
  r.execute(1, {"SET", "old", "1"}, env);  // the replica syncs on this first write
  env.now += milliseconds(150);
  r.execute(1, {"SET", "mid", "1"}, env);  // syncs "old" first, then writes
  env.now += milliseconds(10);
  r.execute(1, {"SET", "new", "1"}, env);  // within the lag: not on the replica
  r.restart(DataLoss::kRecentWrites, env);
  EXPECT_EQ(r.execute(1, {"EXISTS", "old", "mid", "new"}, env), I(1));
  r.restart(DataLoss::kAll, env);
  EXPECT_EQ(r.execute(1, {"DBSIZE"}, env), I(0));
}

// In a simulated world: a client's eval() over the network, a script flush and a
// restart, and a slow script delaying another client.
TEST(InMemoryRedisInWorld, ScriptsRunOverTheSimulatedNetwork) {
  World world({.seed = 3});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  static const RedisScript kIncr("return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])");
  std::vector<Result<RedisReply>> got;
  world.add_instance("a", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(redis);
    const std::vector<std::string> keys(1, "{c}:h");
    const std::vector<std::string> args = {"x", "5"};
    got.push_back(co_await conn->eval(kIncr, keys, args));
    world.flush_scripts(redis);
    got.push_back(co_await conn->eval(kIncr, keys, args));
    world.restart_redis(redis, DataLoss::kAll);
    got.push_back(co_await conn->eval(kIncr, keys, args));  // reset: unknown
    got.push_back(co_await conn->eval(kIncr, keys, args));  // reconnected, data lost
  });
  world.run_for(seconds(5));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(*got[0], I(5));
  EXPECT_EQ(*got[1], I(10)) << "NOSCRIPT after the flush was handled by EVAL";
  EXPECT_TRUE(got[2].status().code() == StatusCode::kUnknownOutcome ||
              (got[2].ok() && *got[2] == I(5)))
      << got[2].status().to_string();
  EXPECT_TRUE(got[3].ok()) << got[3].status().to_string();
}

// A server condition lasts its length, a restart ends it earlier, and the client sees
// the server's error as kServerError with the error's first word.
TEST(InMemoryRedisInWorld, AServerConditionLastsItsLengthOrUntilARestart) {
  World world({.seed = 5});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  std::vector<std::string> seen;  // "ok" or the error's first word, once per 100 ms
  world.add_instance("a", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(redis);
    for (int i = 0; i < 30; ++i) {
      Result<RedisReply> r = co_await conn->command("INCR", "k");
      seen.push_back(r.ok() ? "ok" : std::string(r.status().server_error_prefix()));
      co_await sleep_for(node.executor(), milliseconds(100));
    }
  });
  world.schedule(milliseconds(450), [&] {
    world.set_server_condition(redis, ServerCondition::kLoading, milliseconds(500));
  });
  world.schedule(milliseconds(1450), [&] {
    world.set_server_condition(redis, ServerCondition::kOutOfMemory, seconds(60));
  });
  world.schedule(milliseconds(2250), [&] { world.restart_redis(redis, DataLoss::kNone); });
  world.run_for(seconds(4));
  ASSERT_EQ(seen.size(), 30u);
  EXPECT_EQ(seen[0], "ok");
  EXPECT_EQ(seen[5], "LOADING");
  EXPECT_EQ(seen[9], "LOADING");
  EXPECT_EQ(seen[11], "ok") << "the condition ended after 500 ms";
  EXPECT_EQ(seen[16], "OOM");
  EXPECT_EQ(seen[29], "ok") << "the restart ended the condition";
}

TEST(InMemoryRedisInWorld, ASlowScriptDelaysOtherClients) {
  World world({.seed = 4});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  SimTime ping_done{0};
  world.add_instance("slow", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(redis, {.request_timeout = seconds(10)});
    (void)co_await conn->command("EVAL", "for i = 1, 20000000 do end return 1", "0");
  });
  world.add_instance("fast", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(redis);
    co_await sleep_for(node.executor(), milliseconds(5));
    (void)co_await conn->command("PING");
    ping_done = world.now();
  });
  world.run_for(seconds(10));
  // ~20M instructions at 2 ns: the PING waits ~40 ms behind the script.
  EXPECT_GT(ping_done, milliseconds(30));
}

// ---- Server conditions (faults Redis answers with an error) ------------------------

TEST_F(InMemoryRedisTest, LoadingRefusesAllButWhatRunsWhileLoading) {
  redis_.set_condition(ServerCondition::kLoading);
  EXPECT_EQ(code(run({"GET", "k"})), "LOADING");
  EXPECT_EQ(code(run({"PING"})), "LOADING") << "PING has no loading flag in 7.0";
  EXPECT_EQ(code(eval("return 1")), "LOADING");
  EXPECT_EQ(run({"SELECT", "0"}), S("OK"));
  redis_.set_condition(ServerCondition::kNormal);
  EXPECT_EQ(run({"GET", "k"}), Nil());
}

TEST_F(InMemoryRedisTest, ReadOnlyRefusesWritesAndAScriptAtItsFirstWrite) {
  run({"SET", "k", "1"});
  redis_.set_condition(ServerCondition::kReadOnly);
  EXPECT_EQ(code(run({"SET", "k", "2"})), "READONLY");
  EXPECT_EQ(code(run({"DEL", "k"})), "READONLY");
  EXPECT_EQ(run({"GET", "k"}), B("1"));
  EXPECT_EQ(eval("return redis.call('GET', KEYS[1])", {"k"}), B("1")) << "a script that reads";
  EXPECT_EQ(code(eval("return redis.call('INCR', KEYS[1])", {"k"})), "READONLY");
  EXPECT_EQ(run({"GET", "k"}), B("1")) << "nothing written";
}

TEST_F(InMemoryRedisTest, OutOfMemoryRefusesWhatMayGrowMemoryButNotAScriptMidway) {
  run({"SET", "k", "1"});
  redis_.set_condition(ServerCondition::kOutOfMemory);
  EXPECT_EQ(code(run({"INCR", "k"})), "OOM");
  EXPECT_EQ(code(run({"HSET", "h", "f", "1"})), "OOM");
  EXPECT_EQ(code(eval("return redis.call('INCR', KEYS[1])", {"k"})), "OOM");
  EXPECT_EQ(run({"GET", "k"}), B("1"));
  // DEL frees memory: allowed. A script that has written goes on (it must stay atomic).
  EXPECT_EQ(eval("redis.call('DEL', KEYS[1]); return redis.call('INCR', KEYS[1])", {"k"}), I(1));
}

TEST_F(InMemoryRedisTest, BusyAndMasterDownRefuseOtherClients) {
  redis_.set_condition(ServerCondition::kBusyScript);
  EXPECT_EQ(code(run({"GET", "k"})), "BUSY");
  EXPECT_EQ(code(eval("return 1")), "BUSY");
  redis_.set_condition(ServerCondition::kMasterDown);
  EXPECT_EQ(code(run({"GET", "k"})), "MASTERDOWN");
  EXPECT_EQ(run({"PING"}), S("PONG")) << "stale-flagged commands still run";
  EXPECT_EQ(code(eval("return redis.call('GET', KEYS[1])", {"k"})), "MASTERDOWN");
  // Inside MULTI a refused command fails the transaction, as Redis does.
  redis_.set_condition(ServerCondition::kNormal);
  run({"MULTI"});
  redis_.set_condition(ServerCondition::kReadOnly);
  EXPECT_EQ(code(run({"SET", "k", "1"})), "READONLY");
  EXPECT_EQ(code(run({"EXEC"})), "EXECABORT");
  // A condition that begins after the queueing refuses the EXEC as a whole.
  redis_.set_condition(ServerCondition::kNormal);
  run({"MULTI"});
  EXPECT_EQ(run({"SET", "k", "2"}), S("QUEUED"));
  redis_.set_condition(ServerCondition::kReadOnly);
  EXPECT_EQ(code(run({"EXEC"})), "EXECABORT");
  redis_.set_condition(ServerCondition::kNormal);
  EXPECT_EQ(run({"GET", "k"}), Nil()) << "nothing of it ran";
  // Under BUSY, MULTI is allowed, queued commands are refused, EXEC aborts.
  redis_.set_condition(ServerCondition::kBusyScript);
  EXPECT_EQ(run({"MULTI"}), S("OK"));
  EXPECT_EQ(code(run({"SET", "k", "3"})), "BUSY");
  EXPECT_EQ(code(run({"EXEC"})), "EXECABORT");
  EXPECT_EQ(code(run({"SCRIPT", "FLUSH"})), "BUSY") << "only SCRIPT KILL passes";
}

}  // namespace
}  // namespace distkit::sim

// ---- Connection commands (what the production connection's handshake sends) ---------

namespace distkit::sim {
namespace {

TEST(InMemoryRedisConnection, RequirepassRefusesEverythingButAuthAndHello) {
  InMemoryRedis redis({.requirepass = "pw"});
  Rng rng{1};
  const auto run = [&](RedisCommand c, ClientId client = 1) {
    ServerEnv env{WallTime(std::chrono::seconds(1'767'225'600)), &rng};
    return redis.execute(client, c, env);
  };
  EXPECT_EQ(run({"GET", "k"}), RedisReply::error("NOAUTH Authentication required."));
  EXPECT_EQ(run({"AUTH", "nope"}).error_prefix(), "WRONGPASS");
  EXPECT_EQ(run({"AUTH", "alice", "pw"}).error_prefix(), "WRONGPASS") << "only the default user";
  EXPECT_EQ(run({"HELLO", "2"}).error_prefix(), "NOAUTH");
  EXPECT_EQ(run({"AUTH", "pw"}), RedisReply::simple_string("OK"));
  EXPECT_TRUE(run({"GET", "k"}).is_nil());
  EXPECT_EQ(run({"GET", "k"}, 2).error_prefix(), "NOAUTH") << "per connection";
  // HELLO 2 AUTH ... SETNAME ... in one command; HELLO 3 is not served (yet).
  const RedisReply hello = run({"HELLO", "2", "AUTH", "default", "pw", "SETNAME", "w1"}, 3);
  ASSERT_TRUE(hello.is_array()) << hello;
  EXPECT_EQ(hello.elements().at(4), RedisReply::bulk_string("proto"));
  EXPECT_EQ(hello.elements().at(5), RedisReply::integer(2));
  EXPECT_EQ(run({"CLIENT", "GETNAME"}, 3), RedisReply::bulk_string("w1"));
  EXPECT_EQ(run({"HELLO", "3"}, 3).error_prefix(), "NOPROTO");
  redis.disconnect(3);
  EXPECT_EQ(run({"GET", "k"}, 3).error_prefix(), "NOAUTH") << "a new connection starts over";
}

TEST(InMemoryRedisConnection, ClientNamesAndSelect) {
  InMemoryRedis redis;
  Rng rng{1};
  const auto run = [&](RedisCommand c) {
    ServerEnv env{WallTime(std::chrono::seconds(1'767'225'600)), &rng};
    return redis.execute(7, c, env);
  };
  EXPECT_EQ(run({"AUTH", "pw"}).error_prefix(), "ERR") << "no password configured";
  EXPECT_TRUE(run({"CLIENT", "GETNAME"}).is_nil());
  EXPECT_EQ(run({"CLIENT", "SETNAME", "a b"}).error_prefix(), "ERR");
  EXPECT_EQ(run({"CLIENT", "SETNAME", "worker"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), RedisReply::bulk_string("worker"));
  EXPECT_EQ(run({"CLIENT", "ID"}), RedisReply::integer(7));
  EXPECT_EQ(run({"SELECT", "0"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run({"SELECT", "1"}), RedisReply::error("ERR DB index is out of range"));
  EXPECT_EQ(run({"SELECT", "x"}).error_prefix(), "ERR");
  EXPECT_EQ(run({"EVAL", "return redis.call('AUTH', 'x')", "0"}).error_prefix(), "ERR")
      << "not from a script";
}

// The production connection's handshake against the simulated server: AUTH,
// SETNAME and SELECT (or HELLO) before the first user byte; a wrong password is a
// failed attempt, and the request fails UNAVAILABLE with the server's words.
TEST(InMemoryRedisConnection, TheConnectionHandshakeRunsInTheSimulator) {
  World world({.seed = 3});
  const NodeId redis = world.add_redis_server(
      "redis", std::make_unique<InMemoryRedis>(InMemoryRedisOptions{.requirepass = "pw"}));
  std::vector<Result<RedisReply>> got;
  world.add_instance("app", [&](NodeContext& node) -> Task<void> {
    ConnectionOptions good;
    good.handshake = conn::Handshake{"", "pw", 0, "app-1", false};
    auto conn = node.connect_redis(redis, good);
    got.push_back(co_await conn->command("CLIENT", "GETNAME"));
    ConnectionOptions hello = good;
    hello.handshake.hello = true;
    hello.handshake.client_name = "app-2";
    auto conn2 = node.connect_redis(redis, hello);
    got.push_back(co_await conn2->command("CLIENT", "GETNAME"));
    ConnectionOptions bad = good;
    bad.handshake.password = "wrong";
    auto conn3 = node.connect_redis(redis, bad);
    got.push_back(co_await conn3->command("SET", "k", "v"));
  });
  world.run_for(std::chrono::seconds(5));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(*got[0], RedisReply::bulk_string("app-1"));
  EXPECT_EQ(*got[1], RedisReply::bulk_string("app-2"));
  EXPECT_EQ(got[2].status().code(), StatusCode::kUnavailable);
  EXPECT_NE(got[2].status().message().find("WRONGPASS"), std::string::npos)
      << got[2].status().to_string();
}

}  // namespace
}  // namespace distkit::sim
