// InMemoryRedis's Lua: one Lua 5.1 state (Debian's C++ build, so a Lua error unwinds
// our frames as an exception and their destructors run) set up as Redis 7.0 does in
// script_lua.c / eval.c: the redis.* API, Redis's conversions in both directions,
// errors as {err=...} tables with the script's source and line, readonly globals,
// math.random from the server's seeded stream, a SHA1-keyed script cache.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <lua.hpp>

#include "distkit/core/seam/redis_connection.h"
#include "sim/redis/redis_internal.h"

namespace distkit::sim::redis {

struct LuaEngine::State {
  lua_State* L = nullptr;
  InMemoryRedisOptions options;
  std::map<std::string, int> scripts;  // sha -> registry reference of the function
  int env_ref = LUA_NOREF;             // the scripts' protected global environment
  CommandContext* ctx = nullptr;       // the command running a script, if any
  std::uint64_t instructions = 0;
  std::optional<Rng> seeded;  // after math.randomseed(n)
};

namespace {

constexpr int kInstructionQuantum = 1000;
const char* const kStateKey = "distkit_state";

LuaEngine::State& state_of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kStateKey);
  auto* s = static_cast<LuaEngine::State*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *s;
}

// Pushes Redis's error table {err="CODE message"} for `text`, parsed the way
// luaPushErrorBuff does: "-CODE msg" keeps CODE, anything else gets "ERR".
void push_error_table(lua_State* L, std::string_view text) {
  std::string code = "ERR";
  std::string msg(text);
  if (!text.empty() && text.front() == '-') {
    const std::size_t space = text.find(' ');
    if (space == std::string_view::npos) {
      msg = std::string(text.substr(1));
    } else {
      code = std::string(text.substr(1, space - 1));
      msg = std::string(text.substr(space + 1));
    }
  }
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n'))
    msg.pop_back();
  const std::string line = code + " " + msg;
  lua_newtable(L);
  lua_pushlstring(L, line.data(), line.size());
  lua_setfield(L, -2, "err");
}

void push_reply(lua_State* L, const RedisReply& reply, int depth = 0) {
  if (depth > 64 || !lua_checkstack(L, 4)) luaL_error(L, "reached lua stack limit");
  switch (reply.type()) {
    case RedisReply::Type::kNil:
      lua_pushboolean(L, 0);  // nil becomes false, so arrays have no holes
      return;
    case RedisReply::Type::kInteger:
      lua_pushnumber(L, static_cast<lua_Number>(reply.integer_value()));
      return;
    case RedisReply::Type::kBulkString:
      lua_pushlstring(L, reply.text().data(), reply.text().size());
      return;
    case RedisReply::Type::kSimpleString:
      lua_newtable(L);
      lua_pushlstring(L, reply.text().data(), reply.text().size());
      lua_setfield(L, -2, "ok");
      return;
    case RedisReply::Type::kError:
      push_error_table(L, "-" + reply.text());
      return;
    case RedisReply::Type::kArray: {
      lua_newtable(L);
      int index = 1;
      for (const RedisReply& element : reply.elements()) {
        push_reply(L, element, depth + 1);
        lua_rawseti(L, -2, index++);
      }
      return;
    }
  }
}

// luaReplyToRedisReply: the value at `index` as a reply.
RedisReply reply_from_lua(lua_State* L, int index, int depth = 0) {
  if (depth > 1000 || !lua_checkstack(L, 4))
    return RedisReply::error("ERR reached lua stack limit");
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      return RedisReply::bulk_string(std::string(s, len));
    }
    case LUA_TBOOLEAN:
      return lua_toboolean(L, index) ? RedisReply::integer(1) : RedisReply::nil();
    case LUA_TNUMBER:
      // A C cast: truncation toward zero, as Redis does.
      return RedisReply::integer(static_cast<long long>(lua_tonumber(L, index)));
    case LUA_TTABLE: {
      lua_pushstring(L, "err");
      lua_rawget(L, index);
      if (lua_type(L, -1) == LUA_TSTRING) {
        std::string e = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!e.empty() && e.front() == '-') e.erase(0, 1);
        return RedisReply::error(std::move(e));
      }
      lua_pop(L, 1);
      lua_pushstring(L, "ok");
      lua_rawget(L, index);
      if (lua_type(L, -1) == LUA_TSTRING) {
        std::string ok = lua_tostring(L, -1);
        lua_pop(L, 1);
        for (char& c : ok) {
          if (c == '\r' || c == '\n') c = ' ';
        }
        return RedisReply::simple_string(std::move(ok));
      }
      lua_pop(L, 1);
      lua_pushstring(L, "double");
      lua_rawget(L, index);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        const double d = lua_tonumber(L, -1);
        lua_pop(L, 1);
        return RedisReply::bulk_string(format_double(d));
      }
      lua_pop(L, 1);
      std::vector<RedisReply> elements;
      for (int j = 1;; ++j) {
        lua_rawgeti(L, index, j);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        elements.push_back(reply_from_lua(L, -1, depth + 1));
        lua_pop(L, 1);
      }
      return RedisReply::array(std::move(elements));
    }
    default:
      return RedisReply::nil();
  }
}

// Raises (or, for pcall, returns) an error table.
int fail(lua_State* L, bool raise, std::string_view text) {
  push_error_table(L, text);
  if (raise) return lua_error(L);
  return 1;
}

int redis_generic_call(lua_State* L, bool raise) {
  LuaEngine::State& st = state_of(L);
  const int argc = lua_gettop(L);
  if (argc == 0)
    return fail(L, raise, "Please specify at least one argument for this redis lib call");
  RedisCommand command;
  command.reserve(static_cast<std::size_t>(argc));
  for (int i = 1; i <= argc; ++i) {
    if (lua_type(L, i) == LUA_TNUMBER) {
      // Redis 7.0 formats numbers with %.17g (not Lua's %.14g).
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(lua_tonumber(L, i)));
      command.emplace_back(buf);
    } else if (lua_type(L, i) == LUA_TSTRING) {
      std::size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      command.emplace_back(s, len);
    } else {
      return fail(L, raise, "Lua redis lib command arguments must be strings or integers");
    }
  }
  const CommandSpec* spec = find_command(command[0]);
  if (spec == nullptr) return fail(L, raise, "Unknown Redis command called from script");
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    return fail(L, raise, "Wrong number of args calling Redis command from script");
  }
  if (spec->flags & kNoScript)
    return fail(L, raise, "This Redis command is not allowed from script");
  if (std::optional<RedisReply> refused = refusal(*spec, *st.ctx, command)) {
    return fail(L, raise, "-" + refused->text());
  }
  // Dirty from the first write it attempts, as Redis marks it before the call.
  if (spec->flags & kWrite) st.ctx->script_wrote = true;
  RedisReply reply = run_command(*spec, *st.ctx, command);
  if (reply.is_error()) return fail(L, raise, "-" + reply.text());
  push_reply(L, reply);
  return 1;
}

int redis_call(lua_State* L) {
  return redis_generic_call(L, true);
}
int redis_pcall(lua_State* L) {
  return redis_generic_call(L, false);
}

int redis_error_reply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    push_error_table(L, "wrong number or type of arguments");
    return 1;
  }
  std::string text = lua_tostring(L, -1);
  if (text.empty() || text.front() != '-') text = "-" + text;
  push_error_table(L, text);
  return 1;
}

int redis_status_reply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    push_error_table(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "ok");
  return 1;
}

int redis_sha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
  std::size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  const std::string hex = sha1_hex(std::string_view(s ? s : "", s ? len : 0));
  lua_pushlstring(L, hex.data(), hex.size());
  return 1;
}

int redis_log(lua_State* L) {
  if (lua_gettop(L) < 2) return luaL_error(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1)) return luaL_error(L, "First argument must be a number (log level).");
  const int level = static_cast<int>(lua_tonumber(L, 1));
  if (level < 0 || level > 3) return luaL_error(L, "Invalid debug level.");
  return 0;  // the simulated server keeps no log
}

int redis_setresp(lua_State* L) {
  if (lua_gettop(L) != 1) return luaL_error(L, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(L, 1));
  if (resp != 2 && resp != 3) return luaL_error(L, "RESP version must be 2 or 3.");
  if (resp == 3) return luaL_error(L, "the simulated Redis speaks RESP2 only");
  return 0;
}

int return_true(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}
int return_false(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}
int return_nothing(lua_State*) {
  return 0;
}

Rng& script_rng(LuaEngine::State& st) {
  return st.seeded ? *st.seeded : *st.ctx->rng;
}

// Lua 5.1's math.random, fed by the server's seeded stream instead of rand().
int math_random(lua_State* L) {
  LuaEngine::State& st = state_of(L);
  const lua_Number r = script_rng(st).unit();
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      return 1;
    case 1: {
      const int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      return 1;
    }
    case 2: {
      const int l = luaL_checkint(L, 1);
      const int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      return 1;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
}

int math_randomseed(lua_State* L) {
  LuaEngine::State& st = state_of(L);
  st.seeded = Rng(static_cast<std::uint64_t>(static_cast<std::int64_t>(luaL_checknumber(L, 1))));
  return 0;
}

void count_instructions(lua_State* L, lua_Debug*) {
  LuaEngine::State& st = state_of(L);
  st.instructions += kInstructionQuantum;
  if (st.instructions > st.options.script_instruction_limit) {
    // lua_pushfstring knows only %d %s %f %p %c.
    const std::string limit = std::to_string(st.options.script_instruction_limit);
    luaL_error(L, "script exceeded the simulator's limit of %s instructions", limit.c_str());
  }
}

// The message handler of every script call: string errors become {err="ERR ..."},
// and the table gets the script's source and line (Redis's __redis__err__handler).
int error_handler(lua_State* L) {
  if (!lua_istable(L, 1)) {
    const char* msg = lua_tostring(L, 1);
    const std::string text = std::string("ERR ") + (msg ? msg : "(error object is not a string)");
    lua_newtable(L);
    lua_pushlstring(L, text.data(), text.size());
    lua_setfield(L, -2, "err");
    lua_replace(L, 1);
  }
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    lua_getinfo(L, "Sl", &ar);
    if (std::strcmp(ar.what, "C") == 0) continue;
    lua_pushstring(L, ar.source);
    lua_setfield(L, 1, "source");
    lua_pushinteger(L, ar.currentline);
    lua_setfield(L, 1, "line");
    break;
  }
  lua_settop(L, 1);
  return 1;
}

// Makes the environment scripts run in: reads of missing globals and every write
// fail as in Redis 7.0; library tables are read-only views.
constexpr char kSetup[] = R"lua(
local real = ...
local function readonly(t)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
for _, name in ipairs({"string", "table", "math", "redis", "coroutine"}) do
  if real[name] then real[name] = readonly(real[name]) end
end
local env = setmetatable({}, {
  __index = function(_, n)
    local v = rawget(real, n)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(n) .. "'", 2)
    end
    return v
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
real._G = env
return env
)lua";

}  // namespace

LuaEngine::LuaEngine(const InMemoryRedisOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  lua_State* L = luaL_newstate();
  state_->L = L;
  lua_pushlightuserdata(L, state_.get());
  lua_setfield(L, LUA_REGISTRYINDEX, kStateKey);

  const luaL_Reg libs[] = {{"", luaopen_base},
                           {LUA_TABLIBNAME, luaopen_table},
                           {LUA_STRLIBNAME, luaopen_string},
                           {LUA_MATHLIBNAME, luaopen_math}};
  for (const luaL_Reg& lib : libs) {
    lua_pushcfunction(L, lib.func);
    lua_pushstring(L, lib.name);
    lua_call(L, 1, 0);
  }
  // As Redis: no file access, no printing to the server's stdout.
  for (const char* name : {"dofile", "loadfile", "print"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_getglobal(L, "math");
  lua_pushcfunction(L, math_random);
  lua_setfield(L, -2, "random");
  lua_pushcfunction(L, math_randomseed);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);

  lua_newtable(L);
  const luaL_Reg api[] = {{"call", redis_call},
                          {"pcall", redis_pcall},
                          {"error_reply", redis_error_reply},
                          {"status_reply", redis_status_reply},
                          {"sha1hex", redis_sha1hex},
                          {"log", redis_log},
                          {"setresp", redis_setresp},
                          {"replicate_commands", return_true},
                          {"set_repl", return_nothing},
                          {"breakpoint", return_false},
                          {"debug", return_nothing}};
  for (const luaL_Reg& fn : api) {
    lua_pushcfunction(L, fn.func);
    lua_setfield(L, -2, fn.name);
  }
  const std::pair<const char*, int> constants[] = {
      {"LOG_DEBUG", 0},  {"LOG_VERBOSE", 1},
      {"LOG_NOTICE", 2}, {"LOG_WARNING", 3},
      {"REPL_NONE", 0},  {"REPL_AOF", 1},
      {"REPL_SLAVE", 2}, {"REPL_REPLICA", 2},
      {"REPL_ALL", 3},   {"REDIS_VERSION_NUM", 0x0007000f}};
  for (const auto& [name, value] : constants) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
  }
  lua_pushstring(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
  lua_setglobal(L, "redis");

  if (luaL_loadbuffer(L, kSetup, sizeof kSetup - 1, "=setup") != 0) {
    std::fprintf(stderr, "distkit: Lua setup failed: %s\n", lua_tostring(L, -1));
    std::abort();
  }
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_call(L, 1, 1);
  state_->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

LuaEngine::~LuaEngine() {
  lua_close(state_->L);
}

namespace {

// Compiles `body` into the cache (if not there). Returns an error reply on failure.
std::optional<RedisReply> compile(LuaEngine::State& st, const std::string& sha,
                                  const std::string& body) {
  if (st.scripts.contains(sha)) return std::nullopt;
  lua_State* L = st.L;
  if (!body.empty() && body.front() == '\x1b') {
    return RedisReply::error(
        "ERR Error compiling script (new function): binary chunks are not allowed");
  }
  if (luaL_loadbuffer(L, body.data(), body.size(), "@user_script") != 0) {
    std::string msg = lua_tostring(L, -1);
    lua_pop(L, 1);
    return RedisReply::error("ERR Error compiling script (new function): " + msg);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, st.env_ref);
  lua_setfenv(L, -2);
  st.scripts.emplace(sha, luaL_ref(L, LUA_REGISTRYINDEX));
  return std::nullopt;
}

void set_string_array(lua_State* L, const char* name, const RedisCommand& command, std::size_t from,
                      std::size_t to) {
  lua_newtable(L);
  int i = 1;
  for (std::size_t j = from; j < to; ++j) {
    lua_pushlstring(L, command[j].data(), command[j].size());
    lua_rawseti(L, -2, i++);
  }
  lua_setfield(L, LUA_GLOBALSINDEX, name);  // raw globals, under the env proxy
}

RedisReply run(LuaEngine::State& st, CommandContext& ctx, const std::string& sha,
               const RedisCommand& command, std::size_t numkeys) {
  lua_State* L = st.L;
  set_string_array(L, "KEYS", command, 3, 3 + numkeys);
  set_string_array(L, "ARGV", command, 3 + numkeys, command.size());
  lua_pushcfunction(L, error_handler);
  lua_rawgeti(L, LUA_REGISTRYINDEX, st.scripts.at(sha));
  st.ctx = &ctx;
  ctx.script_wrote = false;  // a new script (one EXEC may run several)
  st.instructions = 0;
  st.seeded.reset();
  ctx.in_script = true;
  lua_sethook(L, count_instructions, LUA_MASKCOUNT, kInstructionQuantum);
  const int status = lua_pcall(L, 0, 1, -2);
  lua_sethook(L, nullptr, 0, 0);
  ctx.in_script = false;
  ctx.lua_instructions += st.instructions;
  st.ctx = nullptr;
  RedisReply reply;
  if (status == 0) {
    reply = reply_from_lua(L, -1);
  } else if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "err");
    std::string line = lua_isstring(L, -1) ? lua_tostring(L, -1) : "ERR unknown error";
    lua_pop(L, 1);
    lua_getfield(L, -1, "source");
    lua_getfield(L, -2, "line");
    if (lua_isstring(L, -2) && lua_isnumber(L, -1)) {
      line += " script: " + sha + ", on " + lua_tostring(L, -2) + ":" +
              std::to_string(lua_tointeger(L, -1)) + ".";
    }
    lua_pop(L, 2);
    reply = RedisReply::error(std::move(line));
  } else {
    const char* msg = lua_tostring(L, -1);
    reply = RedisReply::error(std::string("ERR Error running script: ") + (msg ? msg : "?"));
  }
  lua_settop(L, 0);
  return reply;
}

// Parses numkeys as evalGenericCommand does. nullopt with `error` set on failure.
std::optional<std::size_t> parse_numkeys(const RedisCommand& command, RedisReply& error) {
  std::int64_t numkeys = 0;
  if (!parse_int64(command[2], numkeys)) {
    error = not_integer_error();
    return std::nullopt;
  }
  if (numkeys > static_cast<std::int64_t>(command.size()) - 3) {
    error = RedisReply::error("ERR Number of keys can't be greater than number of args");
    return std::nullopt;
  }
  if (numkeys < 0) {
    error = RedisReply::error("ERR Number of keys can't be negative");
    return std::nullopt;
  }
  return static_cast<std::size_t>(numkeys);
}

}  // namespace

RedisReply LuaEngine::eval(CommandContext& ctx, const RedisCommand& command) {
  RedisReply error;
  std::optional<std::size_t> numkeys = parse_numkeys(command, error);
  if (!numkeys) return error;
  const std::string sha = sha1_hex(command[1]);
  if (auto failed = compile(*state_, sha, command[1])) return *failed;
  return run(*state_, ctx, sha, command, *numkeys);
}

RedisReply LuaEngine::evalsha(CommandContext& ctx, const RedisCommand& command) {
  RedisReply error;
  std::optional<std::size_t> numkeys = parse_numkeys(command, error);
  if (!numkeys) return error;
  const std::string sha = lower(command[1]);
  if (!state_->scripts.contains(sha)) {
    return RedisReply::error("NOSCRIPT No matching script. Please use EVAL.");
  }
  return run(*state_, ctx, sha, command, *numkeys);
}

RedisReply LuaEngine::load(const std::string& body) {
  const std::string sha = sha1_hex(body);
  if (auto failed = compile(*state_, sha, body)) return *failed;
  return RedisReply::bulk_string(sha);
}

bool LuaEngine::cached(std::string_view sha) const {
  return state_->scripts.contains(std::string(sha));
}

void LuaEngine::flush() {
  for (const auto& [sha, ref] : state_->scripts)
    luaL_unref(state_->L, LUA_REGISTRYINDEX, ref);
  state_->scripts.clear();
  lua_gc(state_->L, LUA_GCCOLLECT, 0);
}

std::size_t LuaEngine::size() const {
  return state_->scripts.size();
}

}  // namespace distkit::sim::redis
