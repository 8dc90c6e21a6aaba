// StrictInstanceAwareCounter: counters whose value is the sum of the contributions
// ("slices") of the live instances that made them. Each instance adds to its own
// slice; the cumulative value is kept next to the slices, in the same atomic script
// step. An instance that stops heartbeating for `dead_instance_threshold` is dead and
// its slices leave the cumulative values; one that comes back restores them.
//
// Guarantees (reference/seeds.md A.8-A.10 describes the original and its defects):
// - Every operation is one atomic script step and returns the key's cumulative value
//   with this instance's slice.
// - Heartbeats run every `heartbeat_interval` (default a third of the threshold, so two
//   missed heartbeats are tolerated). Each one finds dead instances and removes their
//   slices in steps of at most `reap_batch` slices per script: a dead instance's
//   contribution is gone within the threshold plus one heartbeat (plus the few round
//   trips of the removal).
// - set and del move the key to a new epoch: other instances' slices of it become
//   stale at once, are never counted or subtracted again, and are overwritten by their
//   owner's next write. clear moves every key to a new epoch the same way, so no
//   instance can bring cleared values back.
// - An instance found dead while it was only slow (a long pause or partition) learns
//   it on its next script or heartbeat, registers again as a new incarnation and
//   restores every slice it remembers whose key's epoch has not moved, before any
//   other operation of it runs. What it remembers is the last acknowledged slice of
//   each key: an operation whose outcome was unknown counts at most once.
// - Values are exact int64 over the whole range (decimal strings in Lua, never a
//   double); a result outside it fails with kOutOfRange and writes nothing.
// - Redis Cluster safe: every key is "{<prefix>}:<family>:..." and passed in KEYS.
//
// Layout ("C" = "{<prefix>}:instance_aware_counter"): C:epochs, C:instances,
// C:reaping, C:cumulative (hashes and sorted sets), and one hash per incarnation,
// C:slices:<instance_id>.<incarnation>. See core/lua/instance_aware.lua.
//
// Concurrency: use a counter from coroutines on its executor. Lifetime: create()
// starts the heartbeat task on `executor`; call shutdown() and let it finish before
// destroying the counter. A shut-down instance's slices stay until it is found dead.
#ifndef DISTKIT_CORE_COUNTERS_INSTANCE_AWARE_COUNTER_H_
#define DISTKIT_CORE_COUNTERS_INSTANCE_AWARE_COUNTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/async_mutex.h"
#include "distkit/core/async/periodic_task.h"
#include "distkit/core/async/task.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct InstanceAwareCounterOptions {
  std::string prefix;
  // Letters, digits, '-', '_'; unique among live instances of the family. Empty: a
  // random one.
  std::string instance_id;
  // The first incarnation number, so a restarted process with the same instance_id
  // never reuses an earlier process's incarnation. 0: a random one.
  std::uint64_t session = 0;
  Duration dead_instance_threshold = std::chrono::seconds(30);
  // 0: a third of the threshold. Must be below the threshold.
  Duration heartbeat_interval{0};
  // false: no heartbeat task; the owner calls heartbeat() at least every
  // heartbeat_interval itself (from its own scheduler, or in tests).
  bool background_heartbeat = true;
  std::size_t reap_batch = 256;      // slices removed per script
  std::size_t recovery_batch = 100;  // slices restored per script
  std::size_t max_keys = 1 << 16;    // keys with a remembered slice (lax: with a buffer)
};

// A key's cumulative value across live instances and this instance's slice of it.
struct SliceValue {
  std::int64_t cumulative = 0;
  std::int64_t slice = 0;
  friend bool operator==(const SliceValue&, const SliceValue&) = default;
};

// After and before a (conditional) operation; when it did not apply, value ==
// previous and nothing was written.
struct SliceChange {
  SliceValue value;
  SliceValue previous;
  bool applied = false;
  friend bool operator==(const SliceChange&, const SliceChange&) = default;
};

class StrictInstanceAwareCounter {
 public:
  // `redis` and `executor` must outlive the counter.
  [[nodiscard]] static Result<std::unique_ptr<StrictInstanceAwareCounter>> create(
      RedisConnection& redis, Executor& executor, InstanceAwareCounterOptions options);
  ~StrictInstanceAwareCounter();
  StrictInstanceAwareCounter(const StrictInstanceAwareCounter&) = delete;
  StrictInstanceAwareCounter& operator=(const StrictInstanceAwareCounter&) = delete;

  [[nodiscard]] const std::string& instance_id() const { return options_.instance_id; }
  // "<instance_id>.<incarnation>": the owner of this instance's slices right now.
  [[nodiscard]] const std::string& owner() const { return owner_; }
  [[nodiscard]] Duration heartbeat_interval() const { return options_.heartbeat_interval; }
  // The family's Redis key prefix, "{<prefix>}:instance_aware_counter".
  [[nodiscard]] const std::string& family() const { return family_; }

  // Adds to this instance's slice. Returns the new (cumulative, slice).
  Task<Result<SliceValue>> inc(std::string key, std::int64_t delta = 1);
  Task<Result<SliceValue>> dec(std::string key, std::int64_t delta = 1);
  // The condition is judged on the cumulative value.
  Task<Result<SliceChange>> inc_if(std::string key, Condition condition, std::int64_t delta);
  // The cumulative becomes `value`, all of it this instance's; other slices go stale.
  Task<Result<SliceValue>> set(std::string key, std::int64_t value);
  Task<Result<SliceChange>> set_if(std::string key, Condition condition, std::int64_t value);
  // Only this instance's slice becomes `value` (the condition is judged on the slice).
  Task<Result<SliceValue>> set_on_instance(std::string key, std::int64_t value);
  Task<Result<SliceChange>> set_on_instance_if(std::string key, Condition condition,
                                               std::int64_t value);
  Task<Result<SliceValue>> get(std::string key);
  // Removes the key for every instance; returns the (cumulative, slice) before.
  Task<Result<SliceValue>> del(std::string key);
  // Removes only this instance's slice from the key: value = (new cumulative, 0),
  // previous = (old cumulative, removed slice).
  Task<Result<SliceChange>> del_on_instance(std::string key);
  // Every key of the family back to 0, for good.
  Task<Status> clear();
  // Removes this instance's slices from every key (each key atomically, the keys one
  // step of `reap_batch` at a time); it then continues as a new incarnation.
  Task<Status> clear_on_instance();

  // Pipelined, results in input order, duplicates applied in order.
  Task<std::vector<Result<SliceValue>>> get_all(std::vector<std::string> keys);
  Task<std::vector<Result<SliceChange>>> inc_all(std::vector<StrictCounter::Increment> items);

  // One heartbeat now, and removal of dead instances' slices (the heartbeat task
  // calls this every heartbeat_interval).
  Task<Status> heartbeat();
  // Stops the heartbeat task. The slices stay until the instance is found dead.
  Task<Status> shutdown();

  // One delta of a batch: LaxInstanceAwareCounter's flush.
  struct Delta {
    std::string key;
    std::int64_t delta = 0;
  };
  // Adds each delta to this instance's slice of its key, as batch `number` of this
  // counter's session: Redis applies a number at most once per incarnation, so a batch
  // whose outcome was unknown may be sent again with the same number (the instance
  // recovers first if it was found dead). The outer status is the batch's: not
  // applied, or unknown. Else one result per delta: the new (cumulative, slice),
  // remembered for recovery, or why the script refused that delta.
  Task<Result<std::vector<Result<SliceValue>>>> add_batch(std::uint64_t number,
                                                          std::vector<Delta> deltas);

  // The key family: "instance_aware_counter" for create(); LaxInstanceAwareCounter's is
  // kLaxFamily, so strict and lax counters of one prefix never share keys.
  static constexpr std::string_view kStrictFamily = "instance_aware_counter";
  static constexpr std::string_view kLaxFamily = "lax_instance_aware_counter";
  [[nodiscard]] static Result<std::unique_ptr<StrictInstanceAwareCounter>> create_family(
      RedisConnection& redis, Executor& executor, InstanceAwareCounterOptions options,
      std::string_view family);

  // Times this instance registered again after being found dead.
  [[nodiscard]] std::uint64_t recoveries() const { return recoveries_; }
  // Slices of dead instances this instance removed.
  [[nodiscard]] std::uint64_t slices_reaped() const { return slices_reaped_; }
  // Remembered slices not restored because their key's epoch had moved.
  [[nodiscard]] std::uint64_t stale_slices_dropped() const { return stale_dropped_; }

 private:
  struct Remembered {
    std::string epoch;
    std::int64_t slice = 0;
  };
  // A script to run as the current owner: KEYS = {epochs, instances, cumulative,
  // slices:<owner>}, ARGV = {owner, args...}.
  struct OwnerCall {
    const RedisScript* script;
    std::vector<std::string> args;
  };

  StrictInstanceAwareCounter(RedisConnection& redis, Executor& executor,
                             InstanceAwareCounterOptions options, std::string family);
  [[nodiscard]] std::string slices_key(const std::string& owner) const;
  [[nodiscard]] ScriptCall owner_call(const OwnerCall& call) const;
  // Becomes live (registering and restoring remembered slices) if it is not.
  Task<Status> ensure_live();
  Task<Status> recover();
  // Runs calls as the current owner; a call refused because the owner was found
  // dead runs again after recovery.
  Task<std::vector<Result<RedisReply>>> run_as_owner(std::vector<OwnerCall> calls);
  Task<Result<SliceChange>> change(const RedisScript& script, std::string key, Condition condition,
                                   std::int64_t argument);
  Task<Result<SliceChange>> change_without_condition(const RedisScript& script, std::string key);
  Result<SliceChange> parse_change(const std::string& key, const Result<RedisReply>& reply);
  void remember(const std::string& key, const std::string& epoch, std::int64_t slice);
  [[nodiscard]] bool may_remember(const std::string& key) const;
  Task<Status> reap(const std::string& dead_owner);
  void set_owner(std::uint64_t incarnation);

  RedisConnection& redis_;
  Executor& executor_;
  InstanceAwareCounterOptions options_;
  std::string family_;
  std::string epochs_key_, instances_key_, reaping_key_, cumulative_key_;
  std::uint64_t incarnation_ = 0;
  std::string owner_;
  std::string owner_slices_;
  bool live_ = false;
  bool needs_new_incarnation_ = false;
  AsyncMutex recovery_;  // held while a recovery runs
  bool used_ = false;
  // Last acknowledged slice per key, for recovery. std::map: recovery's order must
  // not depend on hashing (determinism in the simulator).
  std::map<std::string, Remembered> remembered_;
  std::uint64_t recoveries_ = 0;
  std::uint64_t slices_reaped_ = 0;
  std::uint64_t stale_dropped_ = 0;
  PeriodicTask heartbeats_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_INSTANCE_AWARE_COUNTER_H_
