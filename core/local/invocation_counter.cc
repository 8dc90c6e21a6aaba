#include "distkit/core/local/invocation_counter.h"

#include <algorithm>

namespace distkit {
namespace {

constexpr unsigned kCountBits = 28;
constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << 36) - 1;  // interval number mod 2^36

std::uint64_t tag_of(std::uint64_t word) {
  return word >> kCountBits;
}

// How far interval tag `a` is ahead of `b` (negative: behind), modulo 2^36.
std::int64_t tag_distance(std::uint64_t a, std::uint64_t b) {
  std::int64_t d = static_cast<std::int64_t>((a - b) & kTagMask);
  if (d >= (std::int64_t{1} << 35)) d -= std::int64_t{1} << 36;
  return d;
}

}  // namespace

Result<std::unique_ptr<InvocationCounter>> InvocationCounter::create(unsigned slot_count_exp,
                                                                     unsigned slot_size_exp) {
  if (slot_count_exp > 24 || slot_size_exp > 32) {
    return invalid_argument_error("slot_count_exp must be at most 24 and slot_size_exp at most 32");
  }
  return std::unique_ptr<InvocationCounter>(new InvocationCounter(slot_count_exp, slot_size_exp));
}

InvocationCounter::InvocationCounter(unsigned slot_count_exp, unsigned slot_size_exp)
    : slot_count_exp_(slot_count_exp),
      slot_size_exp_(slot_size_exp),
      // Value-initialised: every slot starts empty (count 0).
      slots_(std::make_unique<std::atomic<std::uint64_t>[]>(std::size_t{1} << slot_count_exp)) {}

void InvocationCounter::record(std::uint64_t t) {
  const std::uint64_t interval = t >> slot_size_exp_;
  const std::uint64_t tag = interval & kTagMask;
  std::atomic<std::uint64_t>& slot = slots_[interval & ((std::uint64_t{1} << slot_count_exp_) - 1)];
  std::uint64_t word = slot.load(std::memory_order_acquire);
  for (;;) {
    std::uint64_t next;
    const bool empty = (word & kCountMask) == 0;
    if (!empty && tag_of(word) == tag) {
      if ((word & kCountMask) == kCountMask) {
        saturated_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      next = word + 1;
    } else if (!empty && tag_distance(tag_of(word), tag) > 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // late: the slot moved on
      return;
    } else {
      next = (tag << kCountBits) | 1;  // empty or older: this interval starts here
    }
    if (slot.compare_exchange_weak(word, next, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      break;
    }
  }
  std::uint64_t newest = newest_.load(std::memory_order_relaxed);
  while ((newest < t || !any_.load(std::memory_order_relaxed)) &&
         !newest_.compare_exchange_weak(newest, std::max(newest, t), std::memory_order_release,
                                        std::memory_order_relaxed)) {
  }
  any_.store(true, std::memory_order_release);
}

std::uint64_t InvocationCounter::count_in(std::uint64_t start, std::uint64_t end) const {
  if (start >= end || !any_.load(std::memory_order_acquire)) return 0;
  const unsigned s = slot_size_exp_;
  const std::uint64_t slots = std::uint64_t{1} << slot_count_exp_;
  const std::uint64_t newest_interval = newest_.load(std::memory_order_acquire) >> s;
  // Intervals [first, last] are both in the ring and intersect [start, end).
  const std::uint64_t ring_first = newest_interval + 1 >= slots ? newest_interval + 1 - slots : 0;
  const std::uint64_t first = std::max(ring_first, start >> s);
  const std::uint64_t last = std::min(newest_interval, (end - 1) >> s);
  if (first > last) return 0;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < slots; ++i) {
    const std::uint64_t word = slots_[i].load(std::memory_order_acquire);
    if ((word & kCountMask) == 0) continue;
    // The slot's full interval number, from its distance to the newest interval.
    const std::int64_t behind = tag_distance(newest_interval & kTagMask, tag_of(word));
    if (behind < 0 || static_cast<std::uint64_t>(behind) > newest_interval) continue;
    const std::uint64_t interval = newest_interval - static_cast<std::uint64_t>(behind);
    if (interval >= first && interval <= last) total += word & kCountMask;
  }
  return total;
}

}  // namespace distkit
