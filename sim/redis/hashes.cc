// InMemoryRedis: Hash commands (t_hash.c).
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

// ---- Hashes -----------------------------------------------------------------------------

RedisReply cmd_hget(CommandContext& ctx, const Args& a) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  if (!h.value) return RedisReply::nil();
  auto it = h.value->find(a[2]);
  return it == h.value->end() ? RedisReply::nil() : bulk(it->second);
}

RedisReply hset_generic(CommandContext& ctx, const Args& a, std::string_view name, bool count) {
  if (a.size() % 2 == 1) return arity_error(name);
  Hash* h = lookup_or_create<Hash>(ctx, a[1]);
  if (h == nullptr) return wrong_type_error();
  std::int64_t created = 0;
  for (std::size_t i = 2; i < a.size(); i += 2) {
    created += h->insert_or_assign(a[i], a[i + 1]).second;
  }
  return count ? integer(created) : ok();
}
RedisReply cmd_hset(CommandContext& ctx, const Args& a) {
  return hset_generic(ctx, a, "hset", true);
}
RedisReply cmd_hmset(CommandContext& ctx, const Args& a) {
  return hset_generic(ctx, a, "hmset", false);
}

RedisReply cmd_hsetnx(CommandContext& ctx, const Args& a) {
  Hash* h = lookup_or_create<Hash>(ctx, a[1]);
  if (h == nullptr) return wrong_type_error();
  return integer(h->emplace(a[2], a[3]).second);
}

RedisReply cmd_hmget(CommandContext& ctx, const Args& a) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  std::vector<RedisReply> out;
  for (std::size_t i = 2; i < a.size(); ++i) {
    auto it = h.value ? h.value->find(a[i]) : Hash::iterator();
    out.push_back(h.value && it != h.value->end() ? bulk(it->second) : RedisReply::nil());
  }
  return RedisReply::array(std::move(out));
}

enum class HashPart { kBoth, kKeys, kValues };
RedisReply hash_dump(CommandContext& ctx, const Args& a, HashPart part) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  std::vector<RedisReply> out;
  if (h.value) {
    for (const auto& [field, value] : *h.value) {
      if (part != HashPart::kValues) out.push_back(bulk(field));
      if (part != HashPart::kKeys) out.push_back(bulk(value));
    }
  }
  return RedisReply::array(std::move(out));
}
RedisReply cmd_hgetall(CommandContext& ctx, const Args& a) {
  return hash_dump(ctx, a, HashPart::kBoth);
}
RedisReply cmd_hkeys(CommandContext& ctx, const Args& a) {
  return hash_dump(ctx, a, HashPart::kKeys);
}
RedisReply cmd_hvals(CommandContext& ctx, const Args& a) {
  return hash_dump(ctx, a, HashPart::kValues);
}

RedisReply cmd_hlen(CommandContext& ctx, const Args& a) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  return integer(h.value ? static_cast<std::int64_t>(h.value->size()) : 0);
}

RedisReply cmd_hexists(CommandContext& ctx, const Args& a) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  return integer(h.value && h.value->contains(a[2]));
}

RedisReply cmd_hdel(CommandContext& ctx, const Args& a) {
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  if (!h.value) return integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < a.size(); ++i)
    removed += static_cast<std::int64_t>(h.value->erase(a[i]));
  drop_if_empty(ctx, a[1], *h.value);
  return integer(removed);
}

RedisReply cmd_hincrby(CommandContext& ctx, const Args& a) {
  std::int64_t by = 0;
  if (!parse_int64(a[3], by)) return not_integer_error();
  Hash* h = lookup_or_create<Hash>(ctx, a[1]);
  if (h == nullptr) return wrong_type_error();
  std::int64_t value = 0;
  auto it = h->find(a[2]);
  if (it != h->end() && !parse_int64(it->second, value)) {
    drop_if_empty(ctx, a[1], *h);
    return err("ERR hash value is not an integer");
  }
  std::int64_t result = 0;
  if (__builtin_add_overflow(value, by, &result)) {
    drop_if_empty(ctx, a[1], *h);
    return overflow_error();
  }
  (*h)[a[2]] = std::to_string(result);
  return integer(result);
}

RedisReply cmd_hincrbyfloat(CommandContext& ctx, const Args& a) {
  long double by = 0;
  if (!parse_long_double(a[3], by)) return float_error();
  if (std::isnan(by) || std::isinf(by)) return err("ERR value is NaN or Infinity");
  Hash* h = lookup_or_create<Hash>(ctx, a[1]);
  if (h == nullptr) return wrong_type_error();
  long double value = 0;
  auto it = h->find(a[2]);
  if (it != h->end() && !parse_long_double(it->second, value)) {
    drop_if_empty(ctx, a[1], *h);
    return err("ERR hash value is not a float");
  }
  value += by;
  if (std::isnan(value) || std::isinf(value)) {
    drop_if_empty(ctx, a[1], *h);
    return err("ERR increment would produce NaN or Infinity");
  }
  std::string text = format_long_double(value);
  (*h)[a[2]] = text;
  return bulk(std::move(text));
}

constexpr CommandSpec kCommands[] = {
    {"hdel", -3, kWrite, cmd_hdel},
    {"hexists", 3, 0, cmd_hexists},
    {"hget", 3, 0, cmd_hget},
    {"hgetall", 2, 0, cmd_hgetall},
    {"hincrby", 4, kWrite | kDenyOom, cmd_hincrby},
    {"hincrbyfloat", 4, kWrite | kDenyOom, cmd_hincrbyfloat},
    {"hkeys", 2, 0, cmd_hkeys},
    {"hlen", 2, 0, cmd_hlen},
    {"hmget", -3, 0, cmd_hmget},
    {"hmset", -4, kWrite | kDenyOom, cmd_hmset},
    {"hset", -4, kWrite | kDenyOom, cmd_hset},
    {"hsetnx", 4, kWrite | kDenyOom, cmd_hsetnx},
    {"hvals", 2, 0, cmd_hvals},
};

}  // namespace

std::span<const CommandSpec> hash_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
