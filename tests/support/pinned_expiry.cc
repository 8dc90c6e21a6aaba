#include "distkit/tests/support/pinned_expiry.h"

#include <utility>

namespace distkit::test_support {
namespace {

constexpr std::string_view kMarker = "--[[pinned-expiry]]";

// The script's own text as the body of a function, so that its top-level `return`
// gives the inner reply, with `redis` shadowed by a table whose call() notes the
// milliseconds of every PEXPIRE on KEYS[1] (exact: a PTTL read back can be a
// millisecond short, since Redis 7.0 reads the clock again). Then, within the same
// call, the key's TTL is removed.
std::string wrap(const std::string& source) {
  std::string wrapped(kMarker);
  wrapped +=
      "\nlocal pexpire_ms = nil\n"
      "local real_redis = redis\n"
      "local redis = setmetatable({call = function(name, ...)\n"
      "  local args = {...}\n"
      "  if string.upper(name) == 'PEXPIRE' and args[1] == KEYS[1] then\n"
      "    pexpire_ms = tonumber(args[2])\n"
      "  end\n"
      "  return real_redis.call(name, ...)\n"
      "end}, {__index = real_redis})\n"
      "local reply = (function()\n";
  wrapped += source;
  wrapped +=
      "\nend)()\n"
      "local ttl = -2\n"
      "if real_redis.call('EXISTS', KEYS[1]) == 1 then\n"
      "  ttl = pexpire_ms or -1\n"
      "  real_redis.call('PERSIST', KEYS[1])\n"
      "end\n"
      "return {reply, ttl}\n";
  return wrapped;
}

bool is_wrapped_call(const RedisCommand& command) {
  return command.size() >= 2 && command[0] == "EVAL" && command[1].starts_with(kMarker);
}

}  // namespace

PinnedExpiryConnection::PinnedExpiryConnection(RedisConnection& inner,
                                               std::vector<const RedisScript*> scripts)
    : inner_(inner) {
  for (const RedisScript* script : scripts) {
    wrapped_by_sha_[script->sha1()] = wrap(script->source());
    wrapped_by_source_[script->source()] = wrap(script->source());
  }
}

RedisCommand PinnedExpiryConnection::rewrite(RedisCommand command) const {
  if (command.size() < 3) return command;
  const std::map<std::string, std::string>* table = nullptr;
  if (command[0] == "EVALSHA" || command[0] == "evalsha") table = &wrapped_by_sha_;
  if (command[0] == "EVAL" || command[0] == "eval") table = &wrapped_by_source_;
  if (table == nullptr) return command;
  auto it = table->find(command[1]);
  if (it == table->end()) return command;
  // Always EVAL: the server caches it, and no NOSCRIPT round trip can intervene.
  command[0] = "EVAL";
  command[1] = it->second;
  return command;
}

Result<RedisReply> PinnedExpiryConnection::unwrap(Result<RedisReply> reply) {
  if (!reply.ok()) return reply;
  if (!reply->is_array() || reply->elements().size() != 2 || !reply->elements()[1].is_integer()) {
    return protocol_error("pinned-expiry wrapper: unexpected reply " + reply->to_string());
  }
  last_ttl_ms_ = reply->elements()[1].integer_value();
  ++calls_;
  RedisReply inner = std::move(reply->elements()[0]);
  if (inner.is_error()) return server_error(std::string(inner.text()));
  return inner;
}

Task<Result<RedisReply>> PinnedExpiryConnection::execute(RedisCommand command) {
  RedisCommand sent = rewrite(std::move(command));
  const bool wrapped = is_wrapped_call(sent);
  Result<RedisReply> reply = co_await inner_.execute(std::move(sent));
  co_return wrapped ? unwrap(std::move(reply)) : std::move(reply);
}

Task<std::vector<Result<RedisReply>>> PinnedExpiryConnection::execute_pipeline(
    std::vector<RedisCommand> commands) {
  std::vector<bool> wrapped;
  for (RedisCommand& command : commands) {
    command = rewrite(std::move(command));
    wrapped.push_back(is_wrapped_call(command));
  }
  std::vector<Result<RedisReply>> replies = co_await inner_.execute_pipeline(std::move(commands));
  for (std::size_t i = 0; i < replies.size() && i < wrapped.size(); ++i) {
    if (wrapped[i]) replies[i] = unwrap(std::move(replies[i]));
  }
  co_return replies;
}

}  // namespace distkit::test_support
