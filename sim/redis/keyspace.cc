// InMemoryRedis: Server and keyspace commands, and expiry (Redis 7.0: db.c, expire.c, server.c).
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

// ---- Server and keyspace commands -----------------------------------------------------

RedisReply cmd_ping(CommandContext&, const Args& a) {
  if (a.size() > 2) return arity_error("ping");
  return a.size() == 2 ? bulk(a[1]) : RedisReply::simple_string("PONG");
}

RedisReply cmd_echo(CommandContext&, const Args& a) {
  return bulk(a[1]);
}

RedisReply cmd_flushall(CommandContext& ctx, const Args& a) {
  if (a.size() > 2) return syntax_error();
  if (a.size() == 2 && !eq_nocase(a[1], "async") && !eq_nocase(a[1], "sync")) return syntax_error();
  ctx.db.clear();
  return ok();
}

RedisReply cmd_dbsize(CommandContext& ctx, const Args&) {
  return integer(static_cast<std::int64_t>(ctx.db.size()));
}

RedisReply cmd_exists(CommandContext& ctx, const Args& a) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < a.size(); ++i)
    n += lookup(ctx, a[i]) != nullptr;
  return integer(n);
}

RedisReply cmd_del(CommandContext& ctx, const Args& a) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (lookup(ctx, a[i]) != nullptr) n += static_cast<std::int64_t>(ctx.db.erase(a[i]));
  }
  return integer(n);
}

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "string";
    case 1:
      return "hash";
    case 2:
      return "set";
    default:
      return "zset";
  }
}

RedisReply cmd_type(CommandContext& ctx, const Args& a) {
  Entry* e = lookup(ctx, a[1]);
  return RedisReply::simple_string(e ? type_name(e->value) : "none");
}

RedisReply cmd_keys(CommandContext& ctx, const Args& a) {
  std::vector<RedisReply> out;
  for (auto it = ctx.db.begin(); it != ctx.db.end(); ++it) {
    const bool expired = it->second.expire_at_ms && ctx.now_ms > *it->second.expire_at_ms;
    if (!expired && glob_match(a[1], it->first)) out.push_back(bulk(it->first));
  }
  return RedisReply::array(std::move(out));
}

struct ScanOptions {
  std::int64_t cursor = 0;
  std::string pattern;
  std::int64_t count = 10;
  std::optional<std::string> type;
};

// Parses "<cursor> [MATCH p] [COUNT n] [TYPE t]" starting at a[first]; TYPE only for SCAN.
std::optional<RedisReply> parse_scan_options(const Args& a, std::size_t first, bool allow_type,
                                             ScanOptions& o) {
  if (!parse_int64(a[first], o.cursor) || o.cursor < 0) return err("ERR invalid cursor");
  for (std::size_t i = first + 1; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) return syntax_error();
    if (eq_nocase(a[i], "match")) {
      o.pattern = a[i + 1];
    } else if (eq_nocase(a[i], "count")) {
      if (!parse_int64(a[i + 1], o.count)) return not_integer_error();
      if (o.count < 1) return syntax_error();
    } else if (allow_type && eq_nocase(a[i], "type")) {
      o.type = lower(a[i + 1]);
    } else {
      return syntax_error();
    }
  }
  return std::nullopt;
}

// The cursor is the number of entries (in key order) already returned or skipped;
// `emit` adds an entry's reply elements when it passes the filters.
template <typename Map, typename Emit>
RedisReply scan_reply(const Map& map, const ScanOptions& o, Emit emit) {
  std::vector<RedisReply> out;
  auto it = map.begin();
  std::int64_t position = 0;
  for (; it != map.end() && position < o.cursor; ++it)
    ++position;
  for (std::int64_t visited = 0; it != map.end() && visited < o.count;
       ++it, ++visited, ++position) {
    if (o.pattern.empty() || glob_match(o.pattern, it->first)) emit(*it, out);
  }
  const std::string next = it == map.end() ? "0" : std::to_string(position);
  return RedisReply::array({bulk(next), RedisReply::array(std::move(out))});
}

RedisReply cmd_scan(CommandContext& ctx, const Args& a) {
  ScanOptions o;
  if (auto error = parse_scan_options(a, 1, true, o)) return *error;
  return scan_reply(ctx.db, o, [&](const auto& entry, std::vector<RedisReply>& out) {
    const bool expired = entry.second.expire_at_ms && ctx.now_ms > *entry.second.expire_at_ms;
    if (expired || (o.type && *o.type != type_name(entry.second.value))) return;
    out.push_back(bulk(entry.first));
  });
}

RedisReply cmd_hscan(CommandContext& ctx, const Args& a) {
  ScanOptions o;
  if (auto error = parse_scan_options(a, 2, false, o)) return *error;
  auto h = lookup_typed<Hash>(ctx, a[1]);
  if (h.wrong_type) return wrong_type_error();
  if (!h.value) return RedisReply::array({bulk("0"), RedisReply::array({})});
  return scan_reply(*h.value, o, [](const auto& entry, std::vector<RedisReply>& out) {
    out.push_back(bulk(entry.first));
    out.push_back(bulk(entry.second));
  });
}

RedisReply cmd_time(CommandContext& ctx, const Args&) {
  return RedisReply::array(
      {bulk(std::to_string(ctx.now_us / 1'000'000)), bulk(std::to_string(ctx.now_us % 1'000'000))});
}

// ---- Expiry -----------------------------------------------------------------------------

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: expireGenericCommand.
RedisReply expire_generic(CommandContext& ctx, const Args& a, bool relative, bool seconds,
                          std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (std::size_t i = 3; i < a.size(); ++i) {
    if (eq_nocase(a[i], "nx")) {
      nx = true;
    } else if (eq_nocase(a[i], "xx")) {
      xx = true;
    } else if (eq_nocase(a[i], "gt")) {
      gt = true;
    } else if (eq_nocase(a[i], "lt")) {
      lt = true;
    } else {
      return err("ERR Unsupported option " + a[i]);
    }
  }
  if (nx && (xx || gt || lt)) {
    return err("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) return err("ERR GT and LT options at the same time are not compatible");
  std::int64_t when = 0;
  if (!parse_int64(a[2], when)) return not_integer_error();
  const RedisReply invalid = err("ERR invalid expire time in '" + std::string(name) + "' command");
  if (seconds) {
    if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) return invalid;
    when *= 1000;
  }
  if (relative) {
    if (when > LLONG_MAX - ctx.now_ms) return invalid;
    when += ctx.now_ms;
  }
  Entry* e = lookup(ctx, a[1]);
  if (e == nullptr) return integer(0);
  const std::optional<std::int64_t> current = e->expire_at_ms;
  if (nx && current) return integer(0);
  if (xx && !current) return integer(0);
  if (gt && (!current || when <= *current)) return integer(0);
  if (lt && current && when >= *current) return integer(0);
  if (when <= ctx.now_ms) {
    ctx.db.erase(a[1]);
    return integer(1);
  }
  e->expire_at_ms = when;
  return integer(1);
}

RedisReply cmd_expire(CommandContext& ctx, const Args& a) {
  return expire_generic(ctx, a, true, true, "expire");
}
RedisReply cmd_pexpire(CommandContext& ctx, const Args& a) {
  return expire_generic(ctx, a, true, false, "pexpire");
}
RedisReply cmd_expireat(CommandContext& ctx, const Args& a) {
  return expire_generic(ctx, a, false, true, "expireat");
}
RedisReply cmd_pexpireat(CommandContext& ctx, const Args& a) {
  return expire_generic(ctx, a, false, false, "pexpireat");
}

RedisReply ttl_generic(CommandContext& ctx, const Args& a, bool millis) {
  Entry* e = lookup(ctx, a[1]);
  if (e == nullptr) return integer(-2);
  if (!e->expire_at_ms) return integer(-1);
  const std::int64_t ttl = std::max<std::int64_t>(0, *e->expire_at_ms - ctx.now_ms);
  return integer(millis ? ttl : (ttl + 500) / 1000);
}
RedisReply cmd_ttl(CommandContext& ctx, const Args& a) {
  return ttl_generic(ctx, a, false);
}
RedisReply cmd_pttl(CommandContext& ctx, const Args& a) {
  return ttl_generic(ctx, a, true);
}

RedisReply cmd_persist(CommandContext& ctx, const Args& a) {
  Entry* e = lookup(ctx, a[1]);
  if (e == nullptr || !e->expire_at_ms) return integer(0);
  e->expire_at_ms.reset();
  return integer(1);
}

constexpr CommandSpec kCommands[] = {
    {"dbsize", 1, 0, cmd_dbsize},
    {"del", -2, kWrite, cmd_del},
    {"echo", 2, 0, cmd_echo},
    {"exists", -2, 0, cmd_exists},
    {"expire", -3, kWrite, cmd_expire},
    {"expireat", -3, kWrite, cmd_expireat},
    {"flushall", -1, kWrite, cmd_flushall},
    {"flushdb", -1, kWrite, cmd_flushall},
    {"hscan", -3, 0, cmd_hscan},
    {"keys", 2, 0, cmd_keys},
    {"persist", 2, kWrite, cmd_persist},
    {"pexpire", -3, kWrite, cmd_pexpire},
    {"pexpireat", -3, kWrite, cmd_pexpireat},
    {"ping", -1, kStale, cmd_ping},
    {"pttl", 2, 0, cmd_pttl},
    {"scan", -2, 0, cmd_scan},
    {"time", 1, kLoading | kStale, cmd_time},
    {"ttl", 2, 0, cmd_ttl},
    {"type", 2, 0, cmd_type},
    {"unlink", -2, kWrite, cmd_del},
};

}  // namespace

std::span<const CommandSpec> keyspace_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
