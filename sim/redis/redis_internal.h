// Internals of InMemoryRedis shared by its command table (redis_commands.cc), its Lua
// engine (redis_lua.cc) and its server loop (in_memory_redis.cc). Not a public header.
#ifndef DISTKIT_SIM_REDIS_REDIS_INTERNAL_H_
#define DISTKIT_SIM_REDIS_REDIS_INTERNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "distkit/core/seam/redis_reply.h"
#include "distkit/sim/redis/in_memory_redis.h"

namespace distkit::sim::redis {

using Hash = std::map<std::string, std::string>;
using Set = std::set<std::string>;
struct ZSet {
  std::map<std::string, double> scores;
  std::set<std::pair<double, std::string>> order;  // (score, member): Redis's order
};
using Value = std::variant<std::string, Hash, Set, ZSet>;

struct Entry {
  Value value;
  std::optional<std::int64_t> expire_at_ms;  // absolute, server clock
};

// Ordered, so KEYS and SCAN are deterministic.
using Keyspace = std::map<std::string, Entry>;

enum CommandFlag : std::uint32_t {
  kWrite = 1,
  kNoScript = 2,    // not allowed from scripts
  kNoMulti = 4,     // runs at once even inside MULTI (MULTI, EXEC, DISCARD)
  kDenyOom = 8,     // may grow memory: refused with OOM above maxmemory
  kLoading = 16,    // allowed while the dataset loads
  kStale = 32,      // allowed on a replica that lost its master
  kAllowBusy = 64,  // allowed while another client's script is busy
  kSession = 128,   // acts on the connection (AUTH, HELLO, CLIENT, SELECT)
  kNoAuth = 256,    // allowed before AUTH (AUTH, HELLO)
};

class LuaEngine;

// What one command sees: the keyspace, the frozen time of the top-level command or
// script, the server's random stream.
struct CommandContext {
  Keyspace& db;
  std::int64_t now_ms;
  std::int64_t now_us;
  Rng* rng;
  LuaEngine* lua;
  bool in_script = false;
  // What state the server is in (faults), and whether the running script has written.
  ServerCondition condition = ServerCondition::kNormal;
  // The server is a cluster replica: it refuses writes (READONLY) whatever its state.
  bool replica = false;
  bool script_wrote = false;
  // Lua instructions run so far by this command (scripts), for busy time.
  std::uint64_t lua_instructions = 0;
};

using Handler = RedisReply (*)(CommandContext&, const RedisCommand&);

struct CommandSpec {
  std::string_view name;  // lower case
  int arity;              // Redis convention: n exact, -n at least n
  std::uint32_t flags;
  // Null for MULTI, EXEC and DISCARD, which the server loop handles per connection.
  Handler handler;
};

// nullptr for an unknown command. `name` in any case.
const CommandSpec* find_command(std::string_view name);

// Runs a command that has passed lookup and arity checks.
RedisReply run_command(const CommandSpec& spec, CommandContext& ctx, const RedisCommand& command);

// The error a server in `ctx.condition` answers `spec` with instead of running it
// (Redis 7.0's processCommand, and scriptCall's checks inside a script), or nothing.
std::optional<RedisReply> refusal(const CommandSpec& spec, const CommandContext& ctx,
                                  const RedisCommand& command);

// Validates name and arity the way Redis does for a client.
// Returns an error reply, or nullptr spec on error.
const CommandSpec* lookup_for_client(const RedisCommand& command, RedisReply* error);

// ---- Shared helpers -----------------------------------------------------------------

// Redis's string2ll: base 10, optional '-', no '+', no spaces, no leading zeros.
bool parse_int64(std::string_view s, std::int64_t& out);
// Redis's string2d family for scores and floats: strtod, no leading space, the whole
// string, not NaN. "inf", "+inf", "-inf" accepted.
bool parse_double(std::string_view s, double& out);
bool parse_long_double(std::string_view s, long double& out);
// "%.17g", with "inf"/"-inf" as Redis writes them.
std::string format_double(double d);
// INCRBYFLOAT's human form: "%.17Lf" without trailing zeros.
std::string format_long_double(long double d);
std::string lower(std::string_view s);
std::string upper(std::string_view s);
// Redis's glob (stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

RedisReply wrong_type_error();
RedisReply syntax_error();
RedisReply not_integer_error();
RedisReply arity_error(std::string_view name);

// ---- Lua -------------------------------------------------------------------------

// One Lua state per server with Redis's environment; a SHA1-keyed script cache.
class LuaEngine {
 public:
  explicit LuaEngine(const InMemoryRedisOptions& options);
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // EVAL: compiles (and caches) the body, then runs it.
  RedisReply eval(CommandContext& ctx, const RedisCommand& command);
  // EVALSHA: NOSCRIPT when the SHA is not cached.
  RedisReply evalsha(CommandContext& ctx, const RedisCommand& command);
  // SCRIPT LOAD: compiles and caches; returns the SHA or a compile error.
  RedisReply load(const std::string& body);
  bool cached(std::string_view sha) const;
  void flush();
  std::size_t size() const;

  // Defined in redis_lua.cc; public so its C callbacks can name it.
  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace distkit::sim::redis

#endif  // DISTKIT_SIM_REDIS_REDIS_INTERNAL_H_
