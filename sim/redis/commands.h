// What the command files of InMemoryRedis share (keyspace.cc, strings.cc, hashes.cc,
// sets.cc, zsets.cc, scripting.cc): reply builders, keyspace access, and each file's
// part of the command table, which command_table.cc puts together.
#ifndef DISTKIT_SIM_REDIS_COMMANDS_H_
#define DISTKIT_SIM_REDIS_COMMANDS_H_

#include <span>

#include "sim/redis/redis_internal.h"

namespace distkit::sim::redis {

using Args = RedisCommand;

// ---- Replies and parsing ------------------------------------------------------------

inline RedisReply ok() {
  return RedisReply::simple_string("OK");
}
inline RedisReply bulk(std::string s) {
  return RedisReply::bulk_string(std::move(s));
}
inline RedisReply integer(std::int64_t v) {
  return RedisReply::integer(v);
}
inline RedisReply err(std::string line) {
  return RedisReply::error(std::move(line));
}

inline RedisReply float_error() {
  return err("ERR value is not a valid float");
}
inline RedisReply overflow_error() {
  return err("ERR increment or decrement would overflow");
}

inline bool eq_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// ---- Keyspace access ----------------------------------------------------------------

// The live entry for `key`, deleting it first if it has expired (lazy expiry).
inline Entry* lookup(CommandContext& ctx, const std::string& key) {
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
inline void drop_if_empty(CommandContext& ctx, const std::string& key, const ZSet& z) {
  if (z.scores.empty()) ctx.db.erase(key);
}

inline void set_string(CommandContext& ctx, const std::string& key, std::string value,
                       bool keep_ttl) {
  auto it = ctx.db.find(key);
  if (it != ctx.db.end() && keep_ttl) {
    it->second.value = std::move(value);
    return;
  }
  ctx.db[key] = Entry{std::move(value), std::nullopt};
}

// Each file's commands (unsorted).
std::span<const CommandSpec> keyspace_commands();
std::span<const CommandSpec> string_commands();
std::span<const CommandSpec> hash_commands();
std::span<const CommandSpec> set_commands();
std::span<const CommandSpec> zset_commands();
std::span<const CommandSpec> scripting_commands();

}  // namespace distkit::sim::redis

#endif  // DISTKIT_SIM_REDIS_COMMANDS_H_
