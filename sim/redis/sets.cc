// InMemoryRedis: Set commands (t_set.c).
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

// ---- Sets -------------------------------------------------------------------------------

RedisReply cmd_sadd(CommandContext& ctx, const Args& a) {
  Set* s = lookup_or_create<Set>(ctx, a[1]);
  if (s == nullptr) return wrong_type_error();
  std::int64_t added = 0;
  for (std::size_t i = 2; i < a.size(); ++i)
    added += s->insert(a[i]).second;
  return integer(added);
}

RedisReply cmd_srem(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<Set>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  if (!s.value) return integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < a.size(); ++i)
    removed += static_cast<std::int64_t>(s.value->erase(a[i]));
  drop_if_empty(ctx, a[1], *s.value);
  return integer(removed);
}

RedisReply cmd_smembers(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<Set>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  std::vector<RedisReply> out;
  if (s.value) {
    for (const std::string& m : *s.value)
      out.push_back(bulk(m));
  }
  return RedisReply::array(std::move(out));
}

RedisReply cmd_sismember(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<Set>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  return integer(s.value && s.value->contains(a[2]));
}

RedisReply cmd_scard(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<Set>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  return integer(s.value ? static_cast<std::int64_t>(s.value->size()) : 0);
}

constexpr CommandSpec kCommands[] = {
    {"sadd", -3, kWrite | kDenyOom, cmd_sadd},
    {"scard", 2, 0, cmd_scard},
    {"sismember", 3, 0, cmd_sismember},
    {"smembers", 2, 0, cmd_smembers},
    {"srem", -3, kWrite, cmd_srem},
};

}  // namespace

std::span<const CommandSpec> set_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
