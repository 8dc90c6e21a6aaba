#include "distkit/tests/support/fake_redis_model.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace distkit::test_support {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool parse_int64(const std::string& s, std::int64_t& out) {
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), out);
  return error == std::errc() && end == s.data() + s.size() && !s.empty();
}

RedisReply wrong_arity(const std::string& name) {
  return RedisReply::error("ERR wrong number of arguments for '" + name + "' command");
}

}  // namespace

void FakeRedisModel::register_script(const std::string& source, ScriptFn fn) {
  scripts_by_sha_[sha1_hex(source)] = std::move(fn);
}

void FakeRedisModel::before_write(WallTime now) {
  if (now - last_sync_ >= replication_lag_) {
    replica_ = data_;
    last_sync_ = now;
  }
}

void FakeRedisModel::restart(sim::DataLoss loss, sim::ServerEnv&) {
  clients_.clear();
  loaded_.clear();
  switch (loss) {
    case sim::DataLoss::kNone:
      break;
    case sim::DataLoss::kAll:
      data_.clear();
      replica_.clear();
      break;
    case sim::DataLoss::kRecentWrites:
      data_ = replica_;
      break;
  }
}

RedisReply FakeRedisModel::run_script(const std::string& sha, const RedisCommand& command,
                                      std::size_t first) {
  std::int64_t numkeys = 0;
  if (command.size() < first + 1 || !parse_int64(command[first], numkeys) || numkeys < 0 ||
      static_cast<std::size_t>(numkeys) > command.size() - first - 1) {
    return RedisReply::error("ERR Number of keys can't be greater than number of args");
  }
  auto it = scripts_by_sha_.find(sha);
  if (it == scripts_by_sha_.end())
    return RedisReply::error("ERR fake server cannot run this script");
  std::vector<std::string> keys(command.begin() + first + 1, command.begin() + first + 1 + numkeys);
  std::vector<std::string> args(command.begin() + first + 1 + numkeys, command.end());
  return it->second(keys, args, data_);
}

RedisReply FakeRedisModel::execute(sim::ClientId client, const RedisCommand& command,
                                   sim::ServerEnv& env) {
  clients_.insert(client);
  executed_.push_back(command);
  const std::string name = upper(command.at(0));
  const std::size_t argc = command.size();
  if (name == "PING") return RedisReply::simple_string("PONG");
  if (name == "ECHO") return argc == 2 ? RedisReply::bulk_string(command[1]) : wrong_arity("echo");
  if (name == "TIME") {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(env.now.time_since_epoch()).count();
    return RedisReply::array({RedisReply::bulk_string(std::to_string(micros / 1'000'000)),
                              RedisReply::bulk_string(std::to_string(micros % 1'000'000))});
  }
  if (name == "GET") {
    if (argc != 2) return wrong_arity("get");
    auto it = data_.find(command[1]);
    return it == data_.end() ? RedisReply::nil() : RedisReply::bulk_string(it->second);
  }
  if (name == "SET") {
    if (argc != 3) return wrong_arity("set");
    before_write(env.now);
    data_[command[1]] = command[2];
    return RedisReply::simple_string("OK");
  }
  if (name == "DEL") {
    if (argc < 2) return wrong_arity("del");
    before_write(env.now);
    std::int64_t removed = 0;
    for (std::size_t i = 1; i < argc; ++i)
      removed += static_cast<std::int64_t>(data_.erase(command[i]));
    return RedisReply::integer(removed);
  }
  if (name == "INCR" || name == "INCRBY") {
    if (argc != (name == "INCR" ? 2u : 3u)) return wrong_arity(name == "INCR" ? "incr" : "incrby");
    std::int64_t delta = 1;
    if (name == "INCRBY" && !parse_int64(command[2], delta)) {
      return RedisReply::error("ERR value is not an integer or out of range");
    }
    std::int64_t value = 0;
    auto it = data_.find(command[1]);
    if (it != data_.end() && !parse_int64(it->second, value)) {
      return RedisReply::error("ERR value is not an integer or out of range");
    }
    if (__builtin_add_overflow(value, delta, &value)) {
      return RedisReply::error("ERR increment or decrement would overflow");
    }
    before_write(env.now);
    data_[command[1]] = std::to_string(value);
    return RedisReply::integer(value);
  }
  if (name == "FLUSHALL") {
    before_write(env.now);
    data_.clear();
    return RedisReply::simple_string("OK");
  }
  if (name == "SCRIPT" && argc >= 2) {
    const std::string sub = upper(command[1]);
    if (sub == "LOAD" && argc == 3) {
      const std::string sha = sha1_hex(command[2]);
      loaded_.insert(sha);
      return RedisReply::bulk_string(sha);
    }
    if (sub == "FLUSH") {
      loaded_.clear();
      return RedisReply::simple_string("OK");
    }
    if (sub == "EXISTS") {
      std::vector<RedisReply> found;
      for (std::size_t i = 2; i < argc; ++i)
        found.push_back(RedisReply::integer(loaded_.count(command[i])));
      return RedisReply::array(std::move(found));
    }
    return RedisReply::error("ERR unknown subcommand '" + command[1] + "'");
  }
  if (name == "EVAL") {
    if (argc < 3) return wrong_arity("eval");
    const std::string sha = sha1_hex(command[1]);
    loaded_.insert(sha);
    before_write(env.now);
    return run_script(sha, command, 2);
  }
  if (name == "EVALSHA") {
    if (argc < 3) return wrong_arity("evalsha");
    if (!loaded_.contains(command[1])) {
      return RedisReply::error("NOSCRIPT No matching script. Please use EVAL.");
    }
    before_write(env.now);
    return run_script(command[1], command, 2);
  }
  return RedisReply::error("ERR unknown command '" + command[0] + "'");
}

}  // namespace distkit::test_support
