// The simulator's scheduler against a plain std::priority_queue loop doing the same
// work in the same process: the ratio is what to read (these machines are noisy).
//
//  - BM_*_Events: a steady stream of events, each scheduling the next at a random
//    small delay (a busy simulation's shape).
//  - BM_*_Timers: timer-heavy: most events arm a timeout that is later cancelled
//    (request timeouts), as node executors do.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "distkit/bench/ratio_reporter.h"
#include "distkit/sim/world/rng.h"
#include "distkit/sim/world/scheduler.h"

namespace distkit::sim {
namespace {

constexpr int kLive = 1000;  // events in the queue at any time

// The baseline: (time, seq) ordered priority_queue of std::function.
struct BaselineEvent {
  std::int64_t when;
  std::uint64_t seq;
  std::function<void()> fn;
  bool operator>(const BaselineEvent& o) const {
    return when != o.when ? when > o.when : seq > o.seq;
  }
};
using BaselineQueue =
    std::priority_queue<BaselineEvent, std::vector<BaselineEvent>, std::greater<BaselineEvent>>;

void BM_Baseline_Events(benchmark::State& state) {
  BaselineQueue q;
  Rng rng(1);
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::function<void()> reschedule;
  reschedule = [&] {
    q.push({now + static_cast<std::int64_t>(rng.below(1000)), seq++, reschedule});
  };
  for (int i = 0; i < kLive; ++i)
    reschedule();
  for (auto _ : state) {
    BaselineEvent e = q.top();
    q.pop();
    now = e.when;
    e.fn();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Scheduler_Events(benchmark::State& state) {
  Scheduler s;
  Rng rng(1);
  std::function<void()> reschedule;
  reschedule = [&] { s.after(Duration(rng.below(1000)), reschedule); };
  for (int i = 0; i < kLive; ++i)
    reschedule();
  for (auto _ : state)
    s.step();
  state.SetItemsProcessed(state.iterations());
}

// Each event arms a timeout 1000 units away and cancels the previous one: the
// baseline marks cancelled timers in a vector<bool> and skips them when popped.
void BM_Baseline_Timers(benchmark::State& state) {
  BaselineQueue q;
  Rng rng(1);
  std::uint64_t seq = 0;
  std::int64_t now = 0;
  std::vector<bool> cancelled;
  std::uint64_t last_timer = UINT64_MAX;
  std::function<void()> work;
  work = [&] {
    if (last_timer != UINT64_MAX) cancelled[last_timer] = true;
    last_timer = seq;
    cancelled.push_back(false);
    q.push({now + 1000, seq++, [] {}});
    cancelled.push_back(false);
    q.push({now + static_cast<std::int64_t>(rng.below(100)), seq++, work});
  };
  for (int i = 0; i < kLive; ++i)
    work();
  // One iteration runs one event, as Scheduler::step() does (skipping cancelled ones).
  for (auto _ : state) {
    while (true) {
      BaselineEvent e = q.top();
      q.pop();
      now = e.when;
      if (cancelled[e.seq]) continue;
      e.fn();
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Scheduler_Timers(benchmark::State& state) {
  Scheduler s;
  Rng rng(1);
  Scheduler::EventId last_timer = 0;
  std::function<void()> work;
  work = [&] {
    if (last_timer != 0) s.cancel(last_timer);
    last_timer = s.after(Duration(1000), [] {});
    s.after(Duration(rng.below(100)), work);
  };
  for (int i = 0; i < kLive; ++i)
    work();
  for (auto _ : state)
    s.step();
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Baseline_Events);
BENCHMARK(BM_Scheduler_Events);
BENCHMARK(BM_Baseline_Timers);
BENCHMARK(BM_Scheduler_Timers);

}  // namespace
}  // namespace distkit::sim

DISTKIT_BENCHMARK_MAIN()
