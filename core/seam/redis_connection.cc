#include "distkit/core/seam/redis_connection.h"

#include <algorithm>
#include <boost/uuid/detail/sha1.hpp>
#include <cstdio>
#include <iterator>

namespace distkit {

std::string sha1_hex(std::string_view bytes) {
  boost::uuids::detail::sha1 hasher;
  hasher.process_bytes(bytes.data(), bytes.size());
  boost::uuids::detail::sha1::digest_type digest;
  hasher.get_digest(digest);
  std::string hex(40, '0');
  for (int word = 0; word < 5; ++word) {
    std::snprintf(&hex[word * 8], 9, "%08x", digest[word]);
  }
  return hex;
}

RedisScript::RedisScript(std::string source)
    : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

RedisCommand script_command(const ScriptCall& call, bool by_sha) {
  RedisCommand command;
  command.reserve(3 + call.keys.size() + call.args.size());
  command.push_back(by_sha ? "EVALSHA" : "EVAL");
  command.push_back(by_sha ? call.script->sha1() : call.script->source());
  command.push_back(std::to_string(call.keys.size()));
  command.insert(command.end(), call.keys.begin(), call.keys.end());
  command.insert(command.end(), call.args.begin(), call.args.end());
  return command;
}

namespace {
bool is_noscript(const Result<RedisReply>& outcome) {
  return !outcome.ok() && outcome.status().server_error_prefix() == "NOSCRIPT";
}
}  // namespace

Task<Result<RedisReply>> RedisConnection::execute(RedisCommand command) {
  std::vector<RedisCommand> one;
  one.push_back(std::move(command));
  std::vector<Result<RedisReply>> outcomes = co_await execute_pipeline(std::move(one));
  co_return std::move(outcomes.front());
}

Task<Result<RedisReply>> RedisConnection::eval(const RedisScript& script,
                                               std::vector<std::string> keys,
                                               std::vector<std::string> args) {
  ScriptCall call{&script, std::move(keys), std::move(args)};
  Result<RedisReply> outcome = co_await execute(script_command(call, /*by_sha=*/true));
  if (is_noscript(outcome)) outcome = co_await execute(script_command(call, /*by_sha=*/false));
  co_return outcome;
}

Task<std::vector<Result<RedisReply>>> RedisConnection::eval_pipeline(
    std::vector<ScriptCall> calls) {
  std::vector<RedisCommand> commands;
  commands.reserve(calls.size());
  for (const ScriptCall& call : calls)
    commands.push_back(script_command(call, true));
  std::vector<Result<RedisReply>> outcomes = co_await execute_pipeline(std::move(commands));

  std::vector<std::size_t> retry;
  std::vector<RedisCommand> retry_commands;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!is_noscript(outcomes[i])) continue;
    retry.push_back(i);
    retry_commands.push_back(script_command(calls[i], false));
  }
  if (!retry.empty()) {
    std::vector<Result<RedisReply>> retried = co_await execute_pipeline(std::move(retry_commands));
    for (std::size_t j = 0; j < retry.size(); ++j)
      outcomes[retry[j]] = std::move(retried[j]);
  }
  co_return outcomes;
}

}  // namespace distkit
