// RedisConnection: the seam between the core and a Redis server. Production
// implements it over sockets (transport/), the simulator through its network to an
// in-memory server (sim/). Counters and limiters see only this.
#ifndef DISTKIT_CORE_SEAM_REDIS_CONNECTION_H_
#define DISTKIT_CORE_SEAM_REDIS_CONNECTION_H_

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

// One command as its arguments, e.g. {"INCRBY", "k", "5"}. Binary-safe.
using RedisCommand = std::vector<std::string>;

namespace detail {
template <typename T>
std::string to_redis_arg(T&& value) {
  if constexpr (std::integral<std::remove_cvref_t<T>>) {
    return std::to_string(value);
  } else {
    return std::string(std::forward<T>(value));
  }
}
}  // namespace detail

// A Lua script and its SHA1, computed once.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  [[nodiscard]] const std::string& source() const { return source_; }
  // Lower-case hex, as SCRIPT LOAD returns it.
  [[nodiscard]] const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

// Lower-case hex SHA1 of `bytes` (what Redis names a script by).
[[nodiscard]] std::string sha1_hex(std::string_view bytes);

struct ScriptCall {
  const RedisScript* script;  // must outlive the call
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

// Contract for implementations:
// - Outcomes of one command: a reply (Result holds it; it is never an error reply at
//   the top level); kServerError when the server answered with an error (the message
//   is the server's error line, so Status::server_error_prefix() gives "NOSCRIPT",
//   "WRONGTYPE", ...); kUnknownOutcome when the command was sent but no reply came
//   (timeout, connection lost after sending): it may or may not have run;
//   kUnavailable when it certainly was not sent (not connected, connect failed);
//   kResourceExhausted when a bound on in-flight work is reached (not sent);
//   kProtocolError when the reply could not be parsed (the connection is then reset).
// - Replies are matched to commands in order; commands from one caller reach the
//   server in the order that caller issued them.
// - execute_pipeline() sends the commands back to back and returns one outcome per
//   command, in input order. Each element is judged on its own: a server error in one
//   does not stop the others (Redis pipelines are not transactions).
// - Safe to call from several coroutines at once on the connection's executor; the
//   connection pipelines them on one link.
class RedisConnection {
 public:
  virtual ~RedisConnection() = default;

  // By default, a pipeline of one; implementations that route per command (a
  // cluster) override it.
  virtual Task<Result<RedisReply>> execute(RedisCommand command);

  // `co_await conn.command("INCRBY", key, 5)`: strings and integers as arguments.
  // (Prefer it to `execute({...})` inside coroutines: GCC 12 rejects a braced list
  // in a co_await expression, "array used as initializer".)
  template <typename... Args>
  requires(sizeof...(Args) > 0) Task<Result<RedisReply>> command(Args&&... args) {
    return execute(RedisCommand{detail::to_redis_arg(std::forward<Args>(args))...});
  }

  virtual Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) = 0;

  // Runs a script by SHA (EVALSHA). If the server does not know it (NOSCRIPT: the
  // script did not run), sends it once as EVAL, which runs it and caches it; EVAL
  // carries the same keys, so a cluster routes it the same way. Other outcomes are
  // returned as they are.
  Task<Result<RedisReply>> eval(const RedisScript& script, std::vector<std::string> keys,
                                std::vector<std::string> args);
  // The same for many calls in one pipeline: calls answered NOSCRIPT are sent again,
  // as EVAL, in one second pipeline, in their original relative order. Results are in
  // input order.
  Task<std::vector<Result<RedisReply>>> eval_pipeline(std::vector<ScriptCall> calls);
};

// {"EVALSHA", sha, numkeys, keys..., args...} (or "EVAL" with the source).
[[nodiscard]] RedisCommand script_command(const ScriptCall& call, bool by_sha);

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_REDIS_CONNECTION_H_
