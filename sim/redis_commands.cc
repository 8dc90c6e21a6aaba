// InMemoryRedis's command table. Each handler follows Redis 7.0's implementation,
// including the order of its checks (argument parsing before type checks where Redis
// does so), because differential tests compare error codes with a real server.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sim/redis_internal.h"

namespace distkit::sim::redis {
namespace {

using Args = RedisCommand;

// ---- Replies and parsing ------------------------------------------------------------

RedisReply ok() {
  return RedisReply::simple_string("OK");
}
RedisReply bulk(std::string s) {
  return RedisReply::bulk_string(std::move(s));
}
RedisReply integer(std::int64_t v) {
  return RedisReply::integer(v);
}
RedisReply err(std::string line) {
  return RedisReply::error(std::move(line));
}

RedisReply float_error() {
  return err("ERR value is not a valid float");
}
RedisReply overflow_error() {
  return err("ERR increment or decrement would overflow");
}

bool eq_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// ---- Keyspace access ----------------------------------------------------------------

// The live entry for `key`, deleting it first if it has expired (lazy expiry).
Entry* lookup(CommandContext& ctx, const std::string& key) {
  auto it = ctx.db.find(key);
  if (it == ctx.db.end()) return nullptr;
  if (it->second.expire_at_ms && ctx.now_ms > *it->second.expire_at_ms) {
    ctx.db.erase(it);
    return nullptr;
  }
  return &it->second;
}

template <typename T>
struct Typed {
  T* value = nullptr;  // null when missing or of another type
  bool wrong_type = false;
};

template <typename T>
Typed<T> lookup_typed(CommandContext& ctx, const std::string& key) {
  Typed<T> out;
  if (Entry* e = lookup(ctx, key)) {
    out.value = std::get_if<T>(&e->value);
    out.wrong_type = out.value == nullptr;
  }
  return out;
}

// The value at `key`, created empty if missing; null on a type mismatch.
template <typename T>
T* lookup_or_create(CommandContext& ctx, const std::string& key) {
  if (Entry* e = lookup(ctx, key)) return std::get_if<T>(&e->value);
  return &std::get<T>(ctx.db[key].value = T{});
}

// Redis removes a collection key when it becomes empty.
template <typename T>
void drop_if_empty(CommandContext& ctx, const std::string& key, const T& collection) {
  if (collection.empty()) ctx.db.erase(key);
}
void drop_if_empty(CommandContext& ctx, const std::string& key, const ZSet& z) {
  if (z.scores.empty()) ctx.db.erase(key);
}

void set_string(CommandContext& ctx, const std::string& key, std::string value, bool keep_ttl) {
  auto it = ctx.db.find(key);
  if (it != ctx.db.end() && keep_ttl) {
    it->second.value = std::move(value);
    return;
  }
  ctx.db[key] = Entry{std::move(value), std::nullopt};
}

// ---- Server and keyspace commands -----------------------------------------------------

RedisReply cmd_ping(CommandContext&, const Args& a) {
  if (a.size() > 2) return arity_error("ping");
  return a.size() == 2 ? bulk(a[1]) : RedisReply::simple_string("PONG");
}

RedisReply cmd_echo(CommandContext&, const Args& a) {
  return bulk(a[1]);
}

RedisReply cmd_select(CommandContext&, const Args& a) {
  std::int64_t index = 0;
  if (!parse_int64(a[1], index)) return not_integer_error();
  if (index < 0 || index > 15) return err("ERR DB index is out of range");
  if (index != 0) return err("ERR the simulated Redis serves database 0 only");
  return ok();
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

// ---- Sorted sets ------------------------------------------------------------------------

void zset_put(ZSet& z, const std::string& member, double score) {
  auto it = z.scores.find(member);
  if (it != z.scores.end()) {
    z.order.erase({it->second, member});
    it->second = score;
  } else {
    z.scores.emplace(member, score);
  }
  z.order.emplace(score, member);
}

bool zset_remove(ZSet& z, const std::string& member) {
  auto it = z.scores.find(member);
  if (it == z.scores.end()) return false;
  z.order.erase({it->second, member});
  z.scores.erase(it);
  return true;
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
RedisReply cmd_zadd(CommandContext& ctx, const Args& a) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  std::size_t i = 2;
  for (; i < a.size(); ++i) {
    const std::string opt = lower(a[i]);
    if (opt == "nx") {
      nx = true;
    } else if (opt == "xx") {
      xx = true;
    } else if (opt == "gt") {
      gt = true;
    } else if (opt == "lt") {
      lt = true;
    } else if (opt == "ch") {
      ch = true;
    } else if (opt == "incr") {
      incr = true;
    } else {
      break;
    }
  }
  const std::size_t elements = a.size() - i;
  if (elements == 0 || elements % 2 != 0) return syntax_error();
  if (incr && elements > 2) return err("ERR INCR option supports a single increment-element pair");
  if (nx && xx) return err("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return err("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  std::vector<double> scores;
  for (std::size_t j = i; j < a.size(); j += 2) {
    double score = 0;
    if (!parse_double(a[j], score)) return float_error();
    scores.push_back(score);
  }
  Entry* e = lookup(ctx, a[1]);
  if (e != nullptr && std::get_if<ZSet>(&e->value) == nullptr) return wrong_type_error();
  if (e == nullptr && xx) return incr ? RedisReply::nil() : integer(0);
  ZSet& z = e != nullptr ? std::get<ZSet>(e->value) : std::get<ZSet>(ctx.db[a[1]].value = ZSet{});
  std::int64_t added = 0, updated = 0;
  std::optional<double> incr_result;
  for (std::size_t k = 0; k < scores.size(); ++k) {
    const std::string& member = a[i + 2 * k + 1];
    double score = scores[k];
    auto it = z.scores.find(member);
    if (it != z.scores.end()) {
      if (nx) continue;
      const double current = it->second;
      if (incr) {
        score += current;
        if (std::isnan(score)) {
          drop_if_empty(ctx, a[1], z);
          return err("ERR resulting score is not a number (NaN)");
        }
      }
      if ((lt && score >= current) || (gt && score <= current)) continue;
      if (incr) incr_result = score;
      if (score != current) {
        zset_put(z, member, score);
        ++updated;
      }
    } else {
      if (xx) continue;
      zset_put(z, member, score);
      ++added;
      if (incr) incr_result = score;
    }
  }
  drop_if_empty(ctx, a[1], z);
  if (incr) return incr_result ? bulk(format_double(*incr_result)) : RedisReply::nil();
  return integer(ch ? added + updated : added);
}

RedisReply cmd_zincrby(CommandContext& ctx, const Args& a) {
  double by = 0;
  if (!parse_double(a[2], by)) return float_error();
  ZSet* z = lookup_or_create<ZSet>(ctx, a[1]);
  if (z == nullptr) return wrong_type_error();
  auto it = z->scores.find(a[3]);
  const double score = (it == z->scores.end() ? 0.0 : it->second) + by;
  if (std::isnan(score)) {
    drop_if_empty(ctx, a[1], *z);
    return err("ERR resulting score is not a number (NaN)");
  }
  zset_put(*z, a[3], score);
  return bulk(format_double(score));
}

RedisReply cmd_zrem(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < a.size(); ++i)
    removed += zset_remove(*z.value, a[i]);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(removed);
}

RedisReply cmd_zscore(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::nil();
  auto it = z.value->scores.find(a[2]);
  return it == z.value->scores.end() ? RedisReply::nil() : bulk(format_double(it->second));
}

RedisReply cmd_zcard(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  return integer(z.value ? static_cast<std::int64_t>(z.value->scores.size()) : 0);
}

RedisReply cmd_zrank(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::nil();
  auto it = z.value->scores.find(a[2]);
  if (it == z.value->scores.end()) return RedisReply::nil();
  auto pos = z.value->order.find({it->second, a[2]});
  return integer(static_cast<std::int64_t>(std::distance(z.value->order.begin(), pos)));
}

struct ScoreRange {
  double min, max;
  bool min_exclusive = false, max_exclusive = false;
  bool contains(double s) const {
    return (min_exclusive ? s > min : s >= min) && (max_exclusive ? s < max : s <= max);
  }
};

bool parse_score_bound(const std::string& text, double& value, bool& exclusive) {
  std::string_view s = text;
  exclusive = !s.empty() && s.front() == '(';
  if (exclusive) s.remove_prefix(1);
  // zslParseRange uses strtod directly: no whitespace check, but all must parse.
  if (s.empty()) return false;
  std::string copy(s);
  char* end = nullptr;
  value = std::strtod(copy.c_str(), &end);
  return *end == '\0' && !std::isnan(value);
}

bool parse_score_range(const std::string& min, const std::string& max, ScoreRange& range) {
  return parse_score_bound(min, range.min, range.min_exclusive) &&
         parse_score_bound(max, range.max, range.max_exclusive);
}

RedisReply cmd_zcount(CommandContext& ctx, const Args& a) {
  ScoreRange range{};
  if (!parse_score_range(a[2], a[3], range)) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  std::int64_t n = 0;
  if (z.value) {
    for (const auto& [score, member] : z.value->order)
      n += range.contains(score);
  }
  return integer(n);
}

// The members selected by a rank or score range, in reply order.
using Selection = std::vector<const std::pair<double, std::string>*>;

Selection select_by_rank(const ZSet& z, std::int64_t start, std::int64_t stop, bool rev) {
  const std::int64_t len = static_cast<std::int64_t>(z.order.size());
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  Selection out;
  if (start > stop || start >= len) return out;
  if (stop >= len) stop = len - 1;
  std::vector<const std::pair<double, std::string>*> all;
  for (const auto& p : z.order)
    all.push_back(&p);
  if (rev) std::reverse(all.begin(), all.end());
  for (std::int64_t i = start; i <= stop; ++i)
    out.push_back(all[i]);
  return out;
}

Selection select_by_score(const ZSet& z, const ScoreRange& range, bool rev, std::int64_t offset,
                          std::int64_t count) {
  Selection in_range;
  for (const auto& p : z.order) {
    if (range.contains(p.first)) in_range.push_back(&p);
  }
  if (rev) std::reverse(in_range.begin(), in_range.end());
  Selection out;
  if (offset < 0) return out;
  for (std::size_t i = static_cast<std::size_t>(offset); i < in_range.size(); ++i) {
    if (count >= 0 && static_cast<std::int64_t>(out.size()) >= count) break;
    out.push_back(in_range[i]);
  }
  return out;
}

RedisReply reply_selection(const Selection& selection, bool with_scores) {
  std::vector<RedisReply> out;
  for (const auto* p : selection) {
    out.push_back(bulk(p->second));
    if (with_scores) out.push_back(bulk(format_double(p->first)));
  }
  return RedisReply::array(std::move(out));
}

enum class RangeKind { kRank, kScore };

// The shared body of ZRANGE, ZRANGEBYSCORE and ZREVRANGEBYSCORE (zrangeGenericCommand).
// `zrange_keywords`: ZRANGE's BYSCORE, BYLEX and REV are accepted (not by the
// older ZRANGEBYSCORE forms).
RedisReply zrange_generic(CommandContext& ctx, const Args& a, bool zrange_keywords, RangeKind kind,
                          bool rev) {
  bool with_scores = false, limit = false;
  std::int64_t offset = 0, count = -1;
  bool by_lex = false;
  for (std::size_t i = 4; i < a.size(); ++i) {
    const std::string opt = lower(a[i]);
    if (opt == "withscores") {
      with_scores = true;
    } else if (opt == "limit" && i + 2 < a.size()) {
      if (!parse_int64(a[i + 1], offset) || !parse_int64(a[i + 2], count)) {
        return not_integer_error();
      }
      limit = true;
      i += 2;
    } else if (zrange_keywords && opt == "byscore") {
      kind = RangeKind::kScore;
    } else if (zrange_keywords && opt == "bylex") {
      by_lex = true;
    } else if (zrange_keywords && opt == "rev") {
      rev = true;
    } else {
      return syntax_error();
    }
  }
  if (by_lex) return err("ERR BYLEX is not supported by the simulated Redis");
  if (limit && kind == RangeKind::kRank) {
    return err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (kind == RangeKind::kRank) {
    std::int64_t start = 0, stop = 0;
    if (!parse_int64(a[2], start) || !parse_int64(a[3], stop)) return not_integer_error();
    auto z = lookup_typed<ZSet>(ctx, a[1]);
    if (z.wrong_type) return wrong_type_error();
    if (!z.value) return RedisReply::array({});
    return reply_selection(select_by_rank(*z.value, start, stop, rev), with_scores);
  }
  // With REV the first bound is the maximum.
  ScoreRange range{};
  const bool ok_range =
      rev ? parse_score_range(a[3], a[2], range) : parse_score_range(a[2], a[3], range);
  if (!ok_range) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::array({});
  return reply_selection(select_by_score(*z.value, range, rev, offset, count), with_scores);
}

RedisReply cmd_zrange(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, true, RangeKind::kRank, false);
}
RedisReply cmd_zrangebyscore(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, false, RangeKind::kScore, false);
}
RedisReply cmd_zrevrangebyscore(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, false, RangeKind::kScore, true);
}

RedisReply cmd_zremrangebyscore(CommandContext& ctx, const Args& a) {
  ScoreRange range{};
  if (!parse_score_range(a[2], a[3], range)) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::vector<std::string> doomed;
  for (const auto& [score, member] : z.value->order) {
    if (range.contains(score)) doomed.push_back(member);
  }
  for (const std::string& m : doomed)
    zset_remove(*z.value, m);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(static_cast<std::int64_t>(doomed.size()));
}

RedisReply cmd_zremrangebyrank(CommandContext& ctx, const Args& a) {
  std::int64_t start = 0, stop = 0;
  if (!parse_int64(a[2], start) || !parse_int64(a[3], stop)) return not_integer_error();
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::vector<std::string> doomed;
  for (const auto* p : select_by_rank(*z.value, start, stop, false))
    doomed.push_back(p->second);
  for (const std::string& m : doomed)
    zset_remove(*z.value, m);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(static_cast<std::int64_t>(doomed.size()));
}

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
    {"append", 3, kWrite, cmd_append},
    {"dbsize", 1, 0, cmd_dbsize},
    {"decr", 2, kWrite, cmd_decr},
    {"decrby", 3, kWrite, cmd_decrby},
    {"del", -2, kWrite, cmd_del},
    {"discard", 1, kNoScript | kNoMulti, nullptr},
    {"echo", 2, 0, cmd_echo},
    {"eval", -3, kNoScript, cmd_eval},
    {"evalsha", -3, kNoScript, cmd_evalsha},
    {"exec", 1, kNoScript | kNoMulti, nullptr},
    {"exists", -2, 0, cmd_exists},
    {"expire", -3, kWrite, cmd_expire},
    {"expireat", -3, kWrite, cmd_expireat},
    {"flushall", -1, kWrite, cmd_flushall},
    {"flushdb", -1, kWrite, cmd_flushall},
    {"get", 2, 0, cmd_get},
    {"getdel", 2, kWrite, cmd_getdel},
    {"hdel", -3, kWrite, cmd_hdel},
    {"hexists", 3, 0, cmd_hexists},
    {"hget", 3, 0, cmd_hget},
    {"hgetall", 2, 0, cmd_hgetall},
    {"hincrby", 4, kWrite, cmd_hincrby},
    {"hincrbyfloat", 4, kWrite, cmd_hincrbyfloat},
    {"hkeys", 2, 0, cmd_hkeys},
    {"hlen", 2, 0, cmd_hlen},
    {"hmget", -3, 0, cmd_hmget},
    {"hmset", -4, kWrite, cmd_hmset},
    {"hscan", -3, 0, cmd_hscan},
    {"hset", -4, kWrite, cmd_hset},
    {"hsetnx", 4, kWrite, cmd_hsetnx},
    {"hvals", 2, 0, cmd_hvals},
    {"incr", 2, kWrite, cmd_incr},
    {"incrby", 3, kWrite, cmd_incrby},
    {"incrbyfloat", 3, kWrite, cmd_incrbyfloat},
    {"keys", 2, 0, cmd_keys},
    {"mget", -2, 0, cmd_mget},
    {"mset", -3, kWrite, cmd_mset},
    {"multi", 1, kNoScript | kNoMulti, nullptr},
    {"persist", 2, kWrite, cmd_persist},
    {"pexpire", -3, kWrite, cmd_pexpire},
    {"pexpireat", -3, kWrite, cmd_pexpireat},
    {"ping", -1, 0, cmd_ping},
    {"pttl", 2, 0, cmd_pttl},
    {"sadd", -3, kWrite, cmd_sadd},
    {"scan", -2, 0, cmd_scan},
    {"scard", 2, 0, cmd_scard},
    {"script", -2, kNoScript, cmd_script},
    {"select", 2, 0, cmd_select},
    {"set", -3, kWrite, cmd_set},
    {"setnx", 3, kWrite, cmd_setnx},
    {"sismember", 3, 0, cmd_sismember},
    {"smembers", 2, 0, cmd_smembers},
    {"srem", -3, kWrite, cmd_srem},
    {"strlen", 2, 0, cmd_strlen},
    {"time", 1, 0, cmd_time},
    {"ttl", 2, 0, cmd_ttl},
    {"type", 2, 0, cmd_type},
    {"unlink", -2, kWrite, cmd_del},
    {"zadd", -4, kWrite, cmd_zadd},
    {"zcard", 2, 0, cmd_zcard},
    {"zcount", 4, 0, cmd_zcount},
    {"zincrby", 4, kWrite, cmd_zincrby},
    {"zrange", -4, 0, cmd_zrange},
    {"zrangebyscore", -4, 0, cmd_zrangebyscore},
    {"zrank", 3, 0, cmd_zrank},
    {"zrem", -3, kWrite, cmd_zrem},
    {"zremrangebyrank", 4, kWrite, cmd_zremrangebyrank},
    {"zremrangebyscore", 4, kWrite, cmd_zremrangebyscore},
    {"zrevrangebyscore", -4, 0, cmd_zrevrangebyscore},
    {"zscore", 3, 0, cmd_zscore},
};

}  // namespace

// ---- Exported helpers ------------------------------------------------------------------

const CommandSpec* find_command(std::string_view name) {
  const std::string key = lower(name);
  auto it = std::lower_bound(std::begin(kCommands), std::end(kCommands), key,
                             [](const CommandSpec& c, const std::string& k) { return c.name < k; });
  return it != std::end(kCommands) && it->name == key ? &*it : nullptr;
}

const CommandSpec* lookup_for_client(const RedisCommand& command, RedisReply* error) {
  const CommandSpec* spec = find_command(command[0]);
  if (spec == nullptr) {
    std::string line = "ERR unknown command '" + command[0] + "', with args beginning with: ";
    for (std::size_t i = 1; i < command.size() && i < 16; ++i)
      line += "'" + command[i] + "' ";
    *error = err(std::move(line));
    return nullptr;
  }
  const int argc = static_cast<int>(command.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    *error = arity_error(spec->name);
    return nullptr;
  }
  return spec;
}

RedisReply run_command(const CommandSpec& spec, CommandContext& ctx, const RedisCommand& command) {
  // MULTI, EXEC and DISCARD (no handler) act on a connection: the server loop runs them.
  if (spec.handler == nullptr)
    return err("ERR " + std::string(spec.name) + " outside a connection");
  return spec.handler(ctx, command);
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative) i = 1;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > (ULLONG_MAX - (s[i] - '0')) / 10) return false;
    v = v * 10 + static_cast<unsigned long long>(s[i] - '0');
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1) return false;
    out = static_cast<std::int64_t>(0 - v);
  } else {
    if (v > static_cast<unsigned long long>(LLONG_MAX)) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(out)) return false;
  if (errno == ERANGE && (out == HUGE_VAL || out == -HUGE_VAL || std::fpclassify(out) == FP_ZERO)) {
    return false;
  }
  return true;
}

bool parse_long_double(std::string_view s, long double& out) {
  if (s.empty() || s.size() >= 5120 || std::isspace(static_cast<unsigned char>(s.front())))
    return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtold(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(out)) return false;
  if (errno == ERANGE &&
      (out == HUGE_VALL || out == -HUGE_VALL || std::fpclassify(out) == FP_ZERO)) {
    return false;
  }
  return true;
}

std::string format_double(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::string format_long_double(long double d) {
  char buf[5600];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", d);
  std::string s(buf, static_cast<std::size_t>(std::max(n, 0)));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0')
      s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool glob_match(std::string_view p, std::string_view s, bool nocase) {
  auto fold = [nocase](char c) {
    return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  while (!p.empty()) {
    switch (p.front()) {
      case '*': {
        while (p.size() > 1 && p[1] == '*')
          p.remove_prefix(1);
        if (p.size() == 1) return true;
        for (std::size_t i = 0; i <= s.size(); ++i) {
          if (glob_match(p.substr(1), s.substr(i), nocase)) return true;
        }
        return false;
      }
      case '?':
        if (s.empty()) return false;
        s.remove_prefix(1);
        p.remove_prefix(1);
        break;
      case '[': {
        if (s.empty()) return false;
        p.remove_prefix(1);
        const bool negate = !p.empty() && p.front() == '^';
        if (negate) p.remove_prefix(1);
        bool match = false;
        while (!p.empty() && p.front() != ']') {
          if (p.front() == '\\' && p.size() >= 2) {
            p.remove_prefix(1);
            if (fold(p.front()) == fold(s.front())) match = true;
          } else if (p.size() >= 3 && p[1] == '-') {
            char lo = fold(p[0]), hi = fold(p[2]);
            if (lo > hi) std::swap(lo, hi);
            const char c = fold(s.front());
            if (c >= lo && c <= hi) match = true;
            p.remove_prefix(2);
          } else if (fold(p.front()) == fold(s.front())) {
            match = true;
          }
          p.remove_prefix(1);
        }
        if (!p.empty()) p.remove_prefix(1);  // ']'
        if (negate) match = !match;
        if (!match) return false;
        s.remove_prefix(1);
        break;
      }
      case '\\':
        if (p.size() >= 2) p.remove_prefix(1);
        [[fallthrough]];
      default:
        if (s.empty() || fold(p.front()) != fold(s.front())) return false;
        p.remove_prefix(1);
        s.remove_prefix(1);
    }
  }
  return s.empty();
}

RedisReply wrong_type_error() {
  return err("WRONGTYPE Operation against a key holding the wrong kind of value");
}
RedisReply syntax_error() {
  return err("ERR syntax error");
}
RedisReply not_integer_error() {
  return err("ERR value is not an integer or out of range");
}
RedisReply arity_error(std::string_view name) {
  return err("ERR wrong number of arguments for '" + std::string(name) + "' command");
}

}  // namespace distkit::sim::redis
