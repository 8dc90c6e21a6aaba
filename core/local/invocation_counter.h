// InvocationCounter: a lock-free count of events over recent time, in a ring of
// 2^slot_count_exp slots of 2^slot_size_exp time units each (any unit: ms, s, ticks;
// the caller passes the time, so it is deterministic to test).
//
// Each slot is one 64-bit atomic word packing (interval number mod 2^36, count):
// record() is one CAS loop that either increments the slot's count or resets the slot
// to a newer interval with count 1, so no increment is lost and no pair is torn
// (the original kept the two in separate atomics and lost increments on resets).
// A late event whose slot already holds a newer interval is dropped and counted in
// dropped(); it never clobbers newer data (the original reset the slot to the old
// interval, erasing the newer counts). The newest time seen is kept with an atomic
// fetch-max loop (the original's single CAS could lag).
//
// What count_in(a, b) returns (S = slot size, N = slots): the number of recorded,
// not dropped events whose slot [kS, (k+1)S) both intersects [a, b) and is one of the
// N slots ending with the slot of the newest time seen. So, for a query of the last X
// units, count_in(now - X, now + 1) covers between X + 1 and X + S units (the ends are
// widened to slot boundaries), and nothing older than N*S - S units is guaranteed.
// Single-threaded this is exact whatever the order of times (a dropped late event is
// always older than the ring); tests/unit/invocation_counter_test.cc checks it as a property.
// Concurrently, a count_in racing record() may miss the events being recorded.
// A slot counts at most 2^28 - 1 events; more are dropped (and counted in saturated()).
#ifndef DISTKIT_CORE_LOCAL_INVOCATION_COUNTER_H_
#define DISTKIT_CORE_LOCAL_INVOCATION_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "distkit/core/base/status.h"

namespace distkit {

class InvocationCounter {
 public:
  // slot_count_exp in [0, 24], slot_size_exp in [0, 32].
  [[nodiscard]] static Result<std::unique_ptr<InvocationCounter>> create(unsigned slot_count_exp,
                                                                         unsigned slot_size_exp);

  // Records one event at time t (t < 2^62). Lock-free, thread-safe.
  void record(std::uint64_t t);
  // Events in [start, end), within the bounds above. Thread-safe, O(slots).
  [[nodiscard]] std::uint64_t count_in(std::uint64_t start, std::uint64_t end) const;

  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t saturated() const {
    return saturated_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] unsigned slot_count_exp() const { return slot_count_exp_; }
  [[nodiscard]] unsigned slot_size_exp() const { return slot_size_exp_; }

 private:
  InvocationCounter(unsigned slot_count_exp, unsigned slot_size_exp);

  unsigned slot_count_exp_;
  unsigned slot_size_exp_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
  std::atomic<std::uint64_t> newest_{0};
  std::atomic<bool> any_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> saturated_{0};
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LOCAL_INVOCATION_COUNTER_H_
