// InvocationCounter: exact counts and [a, b) slot semantics single-threaded, late events
// that never clobber newer slots (the original's verified defect), no lost increments
// under threads (also run under TSan), and the documented bound as a property.
#include "distkit/core/local/invocation_counter.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace distkit {
namespace {

std::unique_ptr<InvocationCounter> make(unsigned count_exp, unsigned size_exp) {
  auto made = InvocationCounter::create(count_exp, size_exp);
  EXPECT_TRUE(made.ok());
  return std::move(*made);
}

TEST(InvocationCounter, CountsPerSlotOverTheLastSlots) {
  auto c = make(1, 2);  // 2 slots of 4 units: the ring spans 8 units
  EXPECT_EQ(c->count_in(0, 100), 0u);
  for (std::uint64_t t : {0, 1, 3, 4, 7})
    c->record(t);
  EXPECT_EQ(c->count_in(0, 8), 5u);
  EXPECT_EQ(c->count_in(0, 4), 3u);
  EXPECT_EQ(c->count_in(2, 3), 3u) << "widened to the slot [0, 4)";
  EXPECT_EQ(c->count_in(4, 5), 2u);
  EXPECT_EQ(c->count_in(5, 5), 0u) << "empty range";
  c->record(9);  // slot [8, 12) replaces [0, 4)
  EXPECT_EQ(c->count_in(0, 4), 0u) << "out of the ring now";
  EXPECT_EQ(c->count_in(0, 12), 3u);
  EXPECT_FALSE(InvocationCounter::create(25, 0).ok());
  EXPECT_FALSE(InvocationCounter::create(0, 33).ok());
}

// seeds.md 1.7.1: registering 8..11 and then a late 0 made count_in(8, 12) drop from
// 4 to 0 in the original.
TEST(InvocationCounter, ALateEventNeverClobbersANewerSlot) {
  auto c = make(1, 2);
  for (std::uint64_t t = 8; t < 12; ++t)
    c->record(t);
  c->record(0);
  EXPECT_EQ(c->count_in(8, 12), 4u);
  EXPECT_EQ(c->dropped(), 1u);
  c->record(5);  // an older interval in the other slot, still within the ring: counted
  EXPECT_EQ(c->count_in(4, 8), 1u);
}

// The original lost increments when a reset raced an increment (two separate atomics)
// and, with threads walking time from 0, kept 4,000 of 32,000 events.
TEST(InvocationCounter, ThreadsLoseNoIncrement) {
  auto same_slot = make(4, 10);
  auto walking = make(6, 8);  // 64 slots of 256: the ring spans 16,384 units
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i)
        same_slot->record(5000);
      for (std::uint64_t time = 0; time < 8000; ++time)
        walking->record(time);
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(same_slot->count_in(0, 1 << 20), 400'000u);
  EXPECT_EQ(walking->count_in(0, 8000), 32'000u);
  EXPECT_EQ(walking->dropped(), 0u);
}

// In any order of times (sorted or not), single-threaded: count_in is exactly the
// events whose slot intersects [a, b) and lies among the last N slots. (A dropped late
// event is always older than the ring, so dropping it loses nothing in the window.)
RC_GTEST_PROP(InvocationCounter, TheBoundHolds, (bool sorted)) {
  const unsigned count_exp = *rc::gen::inRange(0u, 5u);
  const unsigned size_exp = *rc::gen::inRange(0u, 5u);
  auto times =
      *rc::gen::container<std::vector<std::uint64_t>>(rc::gen::inRange<std::uint64_t>(0, 2000));
  if (sorted) std::sort(times.begin(), times.end());
  auto c = make(count_exp, size_exp);
  for (std::uint64_t t : times)
    c->record(t);
  const std::uint64_t slots = std::uint64_t{1} << count_exp;
  const std::uint64_t newest = times.empty() ? 0 : *std::max_element(times.begin(), times.end());
  const std::uint64_t last_interval = newest >> size_exp;
  const std::uint64_t ring_first = last_interval + 1 >= slots ? last_interval + 1 - slots : 0;
  for (int q = 0; q < 20; ++q) {
    const std::uint64_t a = *rc::gen::inRange<std::uint64_t>(0, 2100);
    const std::uint64_t b = *rc::gen::inRange<std::uint64_t>(0, 2100);
    std::uint64_t widened = 0;
    if (!times.empty() && a < b) {
      const std::uint64_t first = std::max(ring_first, a >> size_exp);
      const std::uint64_t last = std::min(last_interval, (b - 1) >> size_exp);
      for (std::uint64_t t : times) {
        const std::uint64_t i = t >> size_exp;
        if (i >= first && i <= last) ++widened;
      }
    }
    RC_ASSERT(c->count_in(a, b) == widened);
  }
  RC_ASSERT(c->count_in(0, newest + 1) + c->dropped() <= times.size());
}

}  // namespace
}  // namespace distkit
