// InMemoryRedis: String commands (t_string.c).
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

// ---- Strings ----------------------------------------------------------------------------

RedisReply cmd_get(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<std::string>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  return s.value ? bulk(*s.value) : RedisReply::nil();
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
RedisReply cmd_set(CommandContext& ctx, const Args& a) {
  bool nx = false, xx = false, get = false, keepttl = false;
  enum class Unit { kNone, kEx, kPx, kExat, kPxat } unit = Unit::kNone;
  std::string expire_arg;
  for (std::size_t i = 3; i < a.size(); ++i) {
    const std::string opt = lower(a[i]);
    const bool has_next = i + 1 < a.size();
    if (opt == "nx" && !xx) {
      nx = true;
    } else if (opt == "xx" && !nx) {
      xx = true;
    } else if (opt == "get") {
      get = true;
    } else if (opt == "keepttl" && unit == Unit::kNone) {
      keepttl = true;
    } else if ((opt == "ex" || opt == "px" || opt == "exat" || opt == "pxat") && !keepttl &&
               unit == Unit::kNone && has_next) {
      unit = opt == "ex"     ? Unit::kEx
             : opt == "px"   ? Unit::kPx
             : opt == "exat" ? Unit::kExat
                             : Unit::kPxat;
      expire_arg = a[++i];
    } else {
      return syntax_error();
    }
  }
  std::optional<std::int64_t> expire_at;
  if (unit != Unit::kNone) {
    std::int64_t v = 0;
    if (!parse_int64(expire_arg, v)) return not_integer_error();
    const RedisReply invalid = err("ERR invalid expire time in 'set' command");
    if (v <= 0) return invalid;
    const bool secs = unit == Unit::kEx || unit == Unit::kExat;
    if (secs && v > LLONG_MAX / 1000) return invalid;
    if (secs) v *= 1000;
    if (unit == Unit::kEx || unit == Unit::kPx) {
      if (v > LLONG_MAX - ctx.now_ms) return invalid;
      v += ctx.now_ms;
    }
    expire_at = v;
  }
  Entry* e = lookup(ctx, a[1]);
  std::optional<std::string> old;
  if (get && e != nullptr) {
    const std::string* s = std::get_if<std::string>(&e->value);
    if (s == nullptr) return wrong_type_error();
    old = *s;
  }
  const bool blocked = (nx && e != nullptr) || (xx && e == nullptr);
  if (!blocked) {
    // A past EXAT/PXAT leaves a logically expired key (Redis 7.0 does not delete it
    // here; lazy expiry does, and DBSIZE counts it meanwhile).
    set_string(ctx, a[1], a[2], keepttl);
    if (expire_at) ctx.db[a[1]].expire_at_ms = expire_at;
  }
  if (get) return old ? bulk(*old) : RedisReply::nil();
  return blocked ? RedisReply::nil() : ok();
}

RedisReply cmd_setnx(CommandContext& ctx, const Args& a) {
  if (lookup(ctx, a[1]) != nullptr) return integer(0);
  set_string(ctx, a[1], a[2], false);
  return integer(1);
}

RedisReply cmd_getdel(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<std::string>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  if (!s.value) return RedisReply::nil();
  RedisReply out = bulk(*s.value);
  ctx.db.erase(a[1]);
  return out;
}

RedisReply cmd_mget(CommandContext& ctx, const Args& a) {
  std::vector<RedisReply> out;
  for (std::size_t i = 1; i < a.size(); ++i) {
    auto s = lookup_typed<std::string>(ctx, a[i]);
    out.push_back(s.value ? bulk(*s.value) : RedisReply::nil());
  }
  return RedisReply::array(std::move(out));
}

RedisReply cmd_mset(CommandContext& ctx, const Args& a) {
  if (a.size() % 2 == 0) return arity_error("mset");
  for (std::size_t i = 1; i < a.size(); i += 2)
    set_string(ctx, a[i], a[i + 1], false);
  return ok();
}

RedisReply incr_by(CommandContext& ctx, const std::string& key, std::int64_t by) {
  Entry* e = lookup(ctx, key);
  std::int64_t value = 0;
  if (e != nullptr) {
    const std::string* s = std::get_if<std::string>(&e->value);
    if (s == nullptr) return wrong_type_error();
    if (!parse_int64(*s, value)) return not_integer_error();
  }
  std::int64_t result = 0;
  if (__builtin_add_overflow(value, by, &result)) return overflow_error();
  set_string(ctx, key, std::to_string(result), /*keep_ttl=*/true);
  return integer(result);
}

RedisReply cmd_incr(CommandContext& ctx, const Args& a) {
  return incr_by(ctx, a[1], 1);
}
RedisReply cmd_decr(CommandContext& ctx, const Args& a) {
  return incr_by(ctx, a[1], -1);
}
RedisReply cmd_incrby(CommandContext& ctx, const Args& a) {
  std::int64_t by = 0;
  if (!parse_int64(a[2], by)) return not_integer_error();
  return incr_by(ctx, a[1], by);
}
RedisReply cmd_decrby(CommandContext& ctx, const Args& a) {
  std::int64_t by = 0;
  if (!parse_int64(a[2], by)) return not_integer_error();
  if (by == LLONG_MIN) return err("ERR decrement would overflow");
  return incr_by(ctx, a[1], -by);
}

RedisReply cmd_incrbyfloat(CommandContext& ctx, const Args& a) {
  Entry* e = lookup(ctx, a[1]);
  long double value = 0;
  if (e != nullptr) {
    const std::string* s = std::get_if<std::string>(&e->value);
    if (s == nullptr) return wrong_type_error();
    if (!parse_long_double(*s, value)) return float_error();
  }
  long double by = 0;
  if (!parse_long_double(a[2], by)) return float_error();
  value += by;
  if (std::isnan(value) || std::isinf(value)) {
    return err("ERR increment would produce NaN or Infinity");
  }
  std::string text = format_long_double(value);
  set_string(ctx, a[1], text, /*keep_ttl=*/true);
  return bulk(std::move(text));
}

RedisReply cmd_append(CommandContext& ctx, const Args& a) {
  Entry* e = lookup(ctx, a[1]);
  if (e == nullptr) {
    set_string(ctx, a[1], a[2], false);
    return integer(static_cast<std::int64_t>(a[2].size()));
  }
  std::string* s = std::get_if<std::string>(&e->value);
  if (s == nullptr) return wrong_type_error();
  s->append(a[2]);
  return integer(static_cast<std::int64_t>(s->size()));
}

RedisReply cmd_strlen(CommandContext& ctx, const Args& a) {
  auto s = lookup_typed<std::string>(ctx, a[1]);
  if (s.wrong_type) return wrong_type_error();
  return integer(s.value ? static_cast<std::int64_t>(s.value->size()) : 0);
}

constexpr CommandSpec kCommands[] = {
    {"append", 3, kWrite | kDenyOom, cmd_append},
    {"decr", 2, kWrite | kDenyOom, cmd_decr},
    {"decrby", 3, kWrite | kDenyOom, cmd_decrby},
    {"get", 2, 0, cmd_get},
    {"getdel", 2, kWrite, cmd_getdel},
    {"incr", 2, kWrite | kDenyOom, cmd_incr},
    {"incrby", 3, kWrite | kDenyOom, cmd_incrby},
    {"incrbyfloat", 3, kWrite | kDenyOom, cmd_incrbyfloat},
    {"mget", -2, 0, cmd_mget},
    {"mset", -3, kWrite | kDenyOom, cmd_mset},
    {"set", -3, kWrite | kDenyOom, cmd_set},
    {"setnx", 3, kWrite | kDenyOom, cmd_setnx},
    {"strlen", 2, 0, cmd_strlen},
};

}  // namespace

std::span<const CommandSpec> string_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
