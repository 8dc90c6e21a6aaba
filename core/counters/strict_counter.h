// StrictCounter: named int64 counters in Redis where every operation is one atomic
// step on the server (a script or a single command), so every caller in every
// process sees one linear history.
//
// Layout: one Redis hash per counter family, "{<prefix>}:strict_counter" (the prefix is
// a hash tag, and it is the only key any script touches, so the family is Redis
// Cluster safe); each counter is a field holding its exact decimal value. Values are
// exact over the whole int64 range: they travel as decimal strings, never through a
// Lua double; an increment that would overflow fails with kOutOfRange and changes
// nothing.
//
// Keys and prefixes: non-empty, at most 255 bytes, no ':' (kInvalidArgument, nothing
// sent). Outcomes are the connection's (kUnknownOutcome: the operation may have run).
// Batch forms pipeline one step per item, apply duplicates in input order, and
// return one outcome per item in input order.
#ifndef DISTKIT_CORE_COUNTERS_STRICT_COUNTER_H_
#define DISTKIT_CORE_COUNTERS_STRICT_COUNTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/keys.h"
#include "distkit/core/counters/counter_ops.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

// A counter value in a reply: a bulk string holding an exact int64.
[[nodiscard]] Result<std::int64_t> parse_counter_value(const RedisReply& reply);

struct StrictCounterOptions {
  // The family: its counters live in the hash "{<prefix>}:strict_counter".
  std::string prefix;
};

class StrictCounter {
 public:
  // The script behind inc/inc_if (for benchmarks comparing against raw EVALSHA).
  [[nodiscard]] static const RedisScript& inc_script();

  // `redis` must outlive the counter.
  [[nodiscard]] static Result<StrictCounter> create(RedisConnection& redis, std::string prefix);
  [[nodiscard]] static Result<StrictCounter> create(RedisConnection& redis,
                                                    StrictCounterOptions options) {
    return create(redis, std::move(options.prefix));
  }

  // The Redis key of this family's hash.
  [[nodiscard]] const std::string& redis_key() const { return hash_; }

  Task<Result<std::int64_t>> inc(std::string key, std::int64_t delta = 1);
  Task<Result<std::int64_t>> dec(std::string key, std::int64_t delta = 1);
  Task<Result<Change>> inc_if(std::string key, Condition condition, std::int64_t delta);
  Task<Result<std::int64_t>> get(std::string key);
  Task<Result<std::int64_t>> set(std::string key, std::int64_t value);
  Task<Result<Change>> set_if(std::string key, Condition condition, std::int64_t value);
  // Removes the counter; returns its value before (0 if it had none).
  Task<Result<std::int64_t>> del(std::string key);
  // Removes every counter of the family.
  Task<Status> clear();

  struct Increment {
    std::string key;
    std::int64_t delta = 1;
    Condition condition = {};
  };
  struct Assignment {
    std::string key;
    std::int64_t value = 0;
    Condition condition = {};
  };
  Task<std::vector<Result<std::int64_t>>> get_all(std::vector<std::string> keys);
  Task<std::vector<Result<Change>>> inc_all(std::vector<Increment> increments);
  Task<std::vector<Result<Change>>> set_all(std::vector<Assignment> assignments);

 private:
  StrictCounter(RedisConnection& redis, std::string hash)
      : redis_(&redis), hash_(std::move(hash)) {}

  RedisConnection* redis_;
  std::string hash_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_STRICT_COUNTER_H_
