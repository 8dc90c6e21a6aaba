// InMemoryRedis: EVAL, EVALSHA and SCRIPT (eval.c); the Lua side is redis_lua.cc.
// Each handler follows Redis 7.0, including the order of its checks.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sim/redis/commands.h"

namespace distkit::sim::redis {
namespace {

// ---- Scripting ----------------------------------------------------------------------------

RedisReply cmd_eval(CommandContext& ctx, const Args& a) {
  return ctx.lua->eval(ctx, a);
}
RedisReply cmd_evalsha(CommandContext& ctx, const Args& a) {
  return ctx.lua->evalsha(ctx, a);
}

RedisReply cmd_script(CommandContext& ctx, const Args& a) {
  const std::string sub = lower(a[1]);
  if (sub == "load") {
    if (a.size() != 3) return arity_error("script|load");
    return ctx.lua->load(a[2]);
  }
  if (sub == "exists") {
    if (a.size() < 3) return arity_error("script|exists");
    std::vector<RedisReply> out;
    for (std::size_t i = 2; i < a.size(); ++i)
      out.push_back(integer(ctx.lua->cached(lower(a[i]))));
    return RedisReply::array(std::move(out));
  }
  if (sub == "flush") {
    if (a.size() > 3) return arity_error("script|flush");
    if (a.size() == 3 && !eq_nocase(a[2], "async") && !eq_nocase(a[2], "sync")) {
      return err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    ctx.lua->flush();
    return ok();
  }
  return err("ERR unknown subcommand '" + a[1] + "'. Try SCRIPT HELP.");
}

constexpr CommandSpec kCommands[] = {
    {"eval", -3, kNoScript | kStale, cmd_eval},
    {"evalsha", -3, kNoScript | kStale, cmd_evalsha},
    {"script", -2, kNoScript, cmd_script},
};

}  // namespace

std::span<const CommandSpec> scripting_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
