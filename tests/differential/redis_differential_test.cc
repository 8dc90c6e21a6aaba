// Differential test: the in-memory Redis against a real redis-server (7.0), on
// RapidCheck-generated command sequences that include the Lua/Redis pitfalls of
// reference/simulation.md §3.1. Replies must be equal; errors are compared by code
// (their texts carry server-specific details such as script SHAs); unordered replies
// (KEYS, SMEMBERS, HKEYS, HVALS, HGETALL, SCAN) are sorted first; TTLs may differ by
// the few milliseconds between the two servers' clocks.
//
// More cases: --test_env=RC_PARAMS="max_success=2000".
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/tests/support/redis_fixture.h"
#include "distkit/transport/hiredis_reply.h"

namespace distkit {
namespace {

using test_support::RedisServer;

// ---- The real server ---------------------------------------------------------------

class RealRedis {
 public:
  static RealRedis& instance() {
    static RealRedis* real = new RealRedis();  // lives until exit; the fixture stops it
    return *real;
  }
  RedisReply run(const RedisCommand& command) { return run_all({command})[0]; }
  // One write for all of them: the server runs them back to back.
  std::vector<RedisReply> run_all(const std::vector<RedisCommand>& commands) {
    for (const RedisCommand& command : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const std::string& a : command) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
      }
      redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                             lengths.data());
    }
    std::vector<RedisReply> replies;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
        ADD_FAILURE() << "real redis: " << context_->errstr;
        replies.push_back(RedisReply::error("TESTFAILURE connection lost"));
        continue;
      }
      Result<RedisReply> reply = transport::reply_from_hiredis(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      replies.push_back(
          reply.ok() ? *reply : RedisReply::error("TESTFAILURE " + reply.status().to_string()));
    }
    return replies;
  }
  bool ok() const { return context_ != nullptr && context_->err == 0; }

 private:
  RealRedis() {
    auto server = RedisServer::start();
    if (!server.ok()) {
      ADD_FAILURE() << server.status().to_string();
      return;
    }
    server_ = std::move(*server);
    context_.reset(redisConnect("127.0.0.1", server_->port()));
  }
  struct Free {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<redisContext, Free> context_;
};

// ---- Generators ----------------------------------------------------------------------

const std::vector<std::string> kKeys = {"k1", "k2", "k3", "{t}a"};
const std::vector<std::string> kValues = {"0",
                                          "1",
                                          "-1",
                                          "7",
                                          "42",
                                          "007",
                                          " 5",
                                          "+3",
                                          "1e3",
                                          "3.5",
                                          "-0",
                                          "abc",
                                          "",
                                          "inf",
                                          "-inf",
                                          "nan",
                                          "0x10",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "9223372036854775808",
                                          "1.5e308",
                                          "0.1",
                                          "10.50",
                                          "a b"};
const std::vector<std::string> kScores = {"0",  "1",    "-1",  "2.5", "1e3", "+inf", "-inf", "inf",
                                          "(1", "(2.5", "abc", "nan", "1.1", "3",    "-2.25"};
const std::vector<std::string> kFields = {"f", "g", "h"};

// Scripts for the Lua checklist (return conversions, call/pcall, errors, globals,
// number formatting, frozen semantics of writes before an error).
const std::vector<std::string> kScripts = {
    "return 3.99",
    "return -3.99",
    "return {1, 2, {3, 'x'}, nil, 4}",
    "return {1, false, 3}",
    "return nil",
    "return true",
    "return false",
    "return redis.call('GET', KEYS[1])",
    "return redis.call('SET', KEYS[1], ARGV[1])",
    "return redis.call('TYPE', KEYS[1])",
    "return redis.call('TYPE', KEYS[1]).ok",
    "return redis.call('TYPE', KEYS[1]) == 'string'",
    "return redis.call('INCRBY', KEYS[1], ARGV[1])",
    "return redis.pcall('INCR', KEYS[1])",
    "return redis.call('HINCRBY', KEYS[1], 'f', 1)",
    "return {err = 'MYCODE oops'}",
    "return redis.error_reply('MY_ERR message')",
    "return redis.error_reply('plain')",
    "return redis.error_reply(42)",
    "return redis.status_reply('FINE')",
    "return {ok = 'a\\r\\nb'}",
    "return redis.call('SET', KEYS[1], 0.1)",
    "redis.call('SET', KEYS[1], 2^53 + 1) return redis.call('GET', KEYS[1])",
    "redis.call('SET', KEYS[1], 100) return redis.call('GET', KEYS[1])",
    "return tostring(2^53)",
    "return tostring(0.1)",
    "return undefined_global",
    "newglobal = 1",
    "string.foo = 1",
    "return redis.call('nope')",
    "return redis.call('get')",
    "return redis.call()",
    "return redis.call('multi')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('set', KEYS[1], true)",
    "return redis.pcall('set', KEYS[1], true)",
    "return redis.pcall('get')",
    "return redis.sha1hex('abc')",
    "redis.call('SET', KEYS[1], 'written') error('boom')",
    "redis.call('SET', KEYS[1], 'written') return redis.call('INCR', KEYS[1])",
    "return #KEYS + #ARGV",
    "return ARGV",
    "return KEYS",
    "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "return redis.call('EXISTS', KEYS[1], KEYS[1])",
    "return redis.call('HMGET', KEYS[1], 'f', 'nope')",
    "return tonumber('0x10')",
    "return tonumber(' 5 ')",
    "return {unpack({1, 2, 3})}",
    "return math.floor(7.5)",
    "return string.format('%.3f', 1 / 3)",
    "return type(redis.call('HGET', KEYS[1], 'f'))",
    "return redis.call('PTTL', KEYS[1]) >= -2",
    "local t = {} for i = 1, 10 do t[i] = i * i end return t",
    "return 1, 2",
    "return {double = 3.5}",
    "return redis.call('INCRBYFLOAT', KEYS[1], '0.1')",
    "return redis.call('ZSCORE', KEYS[1], 'm')",
    "if (",
    "return loadstring('return 1')()",
    "return pcall(error, 'x')",
};

rc::Gen<std::string> key() {
  return rc::gen::elementOf(kKeys);
}
rc::Gen<std::string> value() {
  return rc::gen::elementOf(kValues);
}
rc::Gen<std::string> score() {
  return rc::gen::elementOf(kScores);
}
rc::Gen<std::string> field() {
  return rc::gen::elementOf(kFields);
}
rc::Gen<std::string> small_int() {
  return rc::gen::map(rc::gen::inRange(-3, 6), [](int v) { return std::to_string(v); });
}
// Expiry values far from "now" (or in the past), so the two servers' clocks agree.
rc::Gen<std::string> expire_seconds() {
  return rc::gen::elementOf(
      std::vector<std::string>{"-5", "0", "100", "1000", "abc", "9223372036854775807"});
}

rc::Gen<RedisCommand> gen_command() {
  return rc::gen::exec([]() -> RedisCommand {
    const int which = *rc::gen::inRange(0, 71);
    switch (which) {
      case 0:
        return {"GET", *key()};
      case 1:
        return {"SET", *key(), *value()};
      case 2: {
        RedisCommand c = {"SET", *key(), *value()};
        const std::vector<std::vector<std::string>> options = {{"NX"},
                                                               {"XX"},
                                                               {"GET"},
                                                               {"EX", "100"},
                                                               {"PX", "100000"},
                                                               {"KEEPTTL"},
                                                               {"EX", "0"},
                                                               {"EX", "abc"},
                                                               {"NX", "XX"},
                                                               {"GET", "NX"},
                                                               {"EX", "10", "PX", "10"},
                                                               {"PXAT", "1"},
                                                               {"EXAT", "99999999999"},
                                                               {"KEEPTTL", "EX", "5"},
                                                               {"BOGUS"}};
        for (const std::string& o : *rc::gen::elementOf(options))
          c.push_back(o);
        return c;
      }
      case 3:
        return {"SETNX", *key(), *value()};
      case 4:
        return {"GETDEL", *key()};
      case 5:
        return {"MGET", *key(), *key(), *key()};
      case 6:
        return {"MSET", *key(), *value(), *key(), *value()};
      case 7:
        return {"INCR", *key()};
      case 8:
        return {"DECR", *key()};
      case 9:
        return {"INCRBY", *key(), *rc::gen::oneOf(small_int(), value())};
      case 10:
        return {"DECRBY", *key(), *rc::gen::oneOf(small_int(), value())};
      case 11:
        return {"INCRBYFLOAT", *key(), *value()};
      case 12:
        return {"APPEND", *key(), *value()};
      case 13:
        return {"STRLEN", *key()};
      case 14:
        return {"DEL", *key(), *key()};
      case 15:
        return {"EXISTS", *key(), *key()};
      case 16:
        return {"TYPE", *key()};
      case 17: {
        RedisCommand c = {*rc::gen::elementOf(std::vector<std::string>{"EXPIRE", "PEXPIRE"}),
                          *key(), *expire_seconds()};
        if (c[0] == "PEXPIRE" && (c[2] == "100" || c[2] == "1000")) c[2] += "000";
        if (*rc::gen::arbitrary<bool>()) {
          c.push_back(*rc::gen::elementOf(std::vector<std::string>{"NX", "XX", "GT", "LT", "ZZ"}));
        }
        return c;
      }
      case 18:
        return {"EXPIREAT", *key(),
                *rc::gen::elementOf(std::vector<std::string>{"1", "99999999999"})};
      case 19:
        return {"TTL", *key()};
      case 20:
        return {"PTTL", *key()};
      case 21:
        return {"PERSIST", *key()};
      case 22:
        return {"HSET", *key(), *field(), *value()};
      case 23:
        return {"HSET", *key(), *field(), *value(), *field(), *value()};
      case 24:
        return {"HGET", *key(), *field()};
      case 25:
        return {"HSETNX", *key(), *field(), *value()};
      case 26:
        return {"HMGET", *key(), *field(), *field()};
      case 27:
        return {"HINCRBY", *key(), *field(), *rc::gen::oneOf(small_int(), value())};
      case 28:
        return {"HINCRBYFLOAT", *key(), *field(), *value()};
      case 29:
        return {"HDEL", *key(), *field(), *field()};
      case 30:
        return {"HLEN", *key()};
      case 31:
        return {"HEXISTS", *key(), *field()};
      case 32:
        return {"HGETALL", *key()};
      case 33:
        return {*rc::gen::elementOf(std::vector<std::string>{"HKEYS", "HVALS"}), *key()};
      case 34:
        return {"SADD", *key(), *value(), *value()};
      case 35:
        return {"SREM", *key(), *value()};
      case 36:
        return {"SISMEMBER", *key(), *value()};
      case 37:
        return {"SCARD", *key()};
      case 38:
        return {"SMEMBERS", *key()};
      case 39: {
        RedisCommand c = {"ZADD", *key()};
        const std::vector<std::vector<std::string>> options = {
            {},           {"NX"},         {"XX"},        {"GT"},       {"LT"},
            {"CH"},       {"INCR"},       {"NX", "XX"},  {"GT", "LT"}, {"XX", "CH"},
            {"GT", "CH"}, {"NX", "INCR"}, {"LT", "INCR"}};
        for (const std::string& o : *rc::gen::elementOf(options))
          c.push_back(o);
        const int pairs = *rc::gen::inRange(0, 3);
        for (int i = 0; i < pairs; ++i) {
          c.push_back(*score());
          c.push_back(*rc::gen::elementOf(std::vector<std::string>{"m", "n", "o"}));
        }
        return c;
      }
      case 40:
        return {"ZREM", *key(), "m", "n"};
      case 41:
        return {"ZSCORE", *key(), *rc::gen::elementOf(std::vector<std::string>{"m", "n"})};
      case 42:
        return {"ZINCRBY", *key(), *score(), "m"};
      case 43:
        return {"ZCARD", *key()};
      case 44:
        return {"ZCOUNT", *key(), *score(), *score()};
      case 45:
        return {"ZRANGE", *key(), *small_int(), *small_int()};
      case 46: {
        RedisCommand c = {"ZRANGE", *key(), *score(), *score()};
        const std::vector<std::vector<std::string>> options = {
            {"BYSCORE"},
            {"BYSCORE", "REV"},
            {"REV"},
            {"WITHSCORES"},
            {"REV", "WITHSCORES"},
            {"BYSCORE", "LIMIT", "0", "1"},
            {"BYSCORE", "LIMIT", "1", "-1"},
            {"LIMIT", "0", "1"},
            {"BYSCORE", "WITHSCORES", "LIMIT", "-1", "2"},
            {"BYSCORE", "REV", "WITHSCORES"}};
        for (const std::string& o : *rc::gen::elementOf(options))
          c.push_back(o);
        return c;
      }
      case 47:
        return {"ZRANGEBYSCORE", *key(), *score(), *score(), "WITHSCORES"};
      case 48:
        return {"ZREVRANGEBYSCORE", *key(), *score(), *score(), "LIMIT", "0", *small_int()};
      case 49:
        return {"ZREMRANGEBYSCORE", *key(), *score(), *score()};
      case 50:
        return {"ZREMRANGEBYRANK", *key(), *small_int(), *small_int()};
      case 51:
        return {"ZRANK", *key(), *rc::gen::elementOf(std::vector<std::string>{"m", "n"})};
      case 52:
        return {"DBSIZE"};
      case 53:
        return {"KEYS",
                *rc::gen::elementOf(std::vector<std::string>{"*", "k?", "k[12]", "{t}*", "x*"})};
      case 54:
      case 55:
      case 56: {
        RedisCommand c = {"EVAL", *rc::gen::elementOf(kScripts)};
        const int keys = *rc::gen::inRange(0, 3);
        c.push_back(std::to_string(keys));
        for (int i = 0; i < keys; ++i)
          c.push_back(*key());
        if (*rc::gen::arbitrary<bool>()) c.push_back(*value());
        return c;
      }
      case 57:
        return {"EVAL", "return 1", *rc::gen::elementOf(std::vector<std::string>{"-1", "5", "x"})};
      case 58:
        return {"SCRIPT", "LOAD", *rc::gen::elementOf(kScripts)};
      case 59:
        return {"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"};  // "return 1"
      case 60:
        return {"SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"};
      case 61:
        return {*rc::gen::elementOf(std::vector<std::string>{"MULTI", "EXEC", "DISCARD"})};
      case 62:
        return {*rc::gen::elementOf(std::vector<std::string>{"NOSUCH", "GET", "SET", "HSET"})};
      default:
        return {"PING"};
    }
  });
}

// ---- Comparison ----------------------------------------------------------------------

// A reply made comparable: errors by code, unordered collections sorted.
RedisReply normalized(const RedisCommand& command, RedisReply reply) {
  std::string name = command[0];
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (reply.is_error()) return RedisReply::error(std::string(reply.error_prefix()));
  if (!reply.is_array()) return reply;
  auto& e = reply.elements();
  const auto by_text = [](const RedisReply& a, const RedisReply& b) {
    return a.to_string() < b.to_string();
  };
  if (name == "KEYS" || name == "SMEMBERS" || name == "HKEYS" || name == "HVALS") {
    std::sort(e.begin(), e.end(), by_text);
  } else if (name == "SCAN" && e.size() == 2 && e[1].is_array()) {
    std::sort(e[1].elements().begin(), e[1].elements().end(), by_text);
  } else if (name == "HGETALL") {
    std::vector<RedisReply> pairs;
    for (std::size_t i = 0; i + 1 < e.size(); i += 2)
      pairs.push_back(RedisReply::array({e[i], e[i + 1]}));
    std::sort(pairs.begin(), pairs.end(), by_text);
    return RedisReply::array(std::move(pairs));
  }
  return reply;
}

bool same(const RedisCommand& command, const RedisReply& sim, const RedisReply& real,
          const std::vector<RedisCommand>& queued) {
  std::string name = command[0];
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if ((name == "TTL" || name == "PTTL") && sim.is_integer() && real.is_integer()) {
    const std::int64_t tolerance = name == "PTTL" ? 100 : 1;
    return std::llabs(sim.integer_value() - real.integer_value()) <= tolerance;
  }
  if (name == "EXEC" && sim.is_array() && real.is_array() &&
      sim.elements().size() == queued.size() && real.elements().size() == queued.size()) {
    for (std::size_t i = 0; i < queued.size(); ++i) {
      if (!same(queued[i], sim.elements()[i], real.elements()[i], {})) return false;
    }
    return true;
  }
  return normalized(command, sim) == normalized(command, real);
}

std::string show(const RedisCommand& command) {
  std::string out;
  for (const std::string& a : command)
    out += (out.empty() ? "" : " ") + RedisReply::bulk_string(a).to_string();
  return out;
}

std::size_t g_commands_compared = 0;

RC_GTEST_PROP(RedisDifferential, InMemoryRedisAnswersLikeRealRedis, ()) {
  RealRedis& real = RealRedis::instance();
  RC_PRE(real.ok());
  // About 200 commands per case on average: 100 cases make ~20k commands.
  const auto commands =
      *rc::gen::scale(8.0, rc::gen::container<std::vector<RedisCommand>>(gen_command()));
  real.run({"DISCARD"});
  real.run({"FLUSHALL"});
  real.run({"SCRIPT", "FLUSH"});
  sim::InMemoryRedis memory;
  sim::Rng rng(1);
  std::vector<RedisCommand> queued;  // the open transaction's commands
  bool in_transaction = false;       // on the real server
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const RedisCommand& command = commands[i];
    std::string name = command[0];
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    // Both servers on one clock, the real one's: its TIME sent in the same write as the
    // command (after it when it ends a transaction, where a TIME before it would be
    // queued), so a stall of this process anywhere cannot put the two clocks apart.
    RedisReply real_reply, real_time;
    if (!in_transaction) {
      std::vector<RedisReply> r = real.run_all({{"TIME"}, command});
      real_time = r[0], real_reply = r[1];
    } else if (name == "EXEC" || name == "DISCARD") {
      std::vector<RedisReply> r = real.run_all({command, {"TIME"}});
      real_reply = r[0], real_time = r[1];
    } else {
      real_reply = real.run(command);  // queued: runs at EXEC, on EXEC's clock
    }
    WallTime now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    if (real_time.is_array() && real_time.elements().size() == 2) {
      now = WallTime(
          std::chrono::seconds(std::stoll(std::string(real_time.elements()[0].text()))) +
          std::chrono::microseconds(std::stoll(std::string(real_time.elements()[1].text()))));
    }
    if (name == "MULTI" && real_reply == RedisReply::simple_string("OK")) in_transaction = true;
    if (name == "EXEC" || name == "DISCARD") in_transaction = false;
    sim::ServerEnv env{now, &rng};
    const RedisReply sim_reply = memory.execute(1, command, env);
    ++g_commands_compared;
    if (sim_reply == RedisReply::simple_string("QUEUED")) queued.push_back(command);
    if (!same(command, sim_reply, real_reply, queued)) {
      RC_FAIL("command " + std::to_string(i) + ": " + show(command) + "\n  in-memory: " +
              sim_reply.to_string() + "\n  real:      " + real_reply.to_string());
    }
    const bool opened = name == "MULTI" && sim_reply == RedisReply::simple_string("OK");
    if (opened || name == "EXEC" || name == "DISCARD") queued.clear();
  }
}

// Runs after the property (gtest keeps declaration order within a file).
TEST(RedisDifferential, ComparedTensOfThousandsOfCommands) {
  std::printf("commands compared with real Redis: %zu\n", g_commands_compared);
  EXPECT_GE(g_commands_compared, 15'000u);
}

}  // namespace
}  // namespace distkit
