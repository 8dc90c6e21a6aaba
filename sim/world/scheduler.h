// Scheduler: the simulated world's event loop. One thread, virtual time, events
// ordered by (time, sequence number): two events at the same instant run in the order
// they were scheduled, so a run is a pure function of its inputs. It never sleeps:
// when nothing is ready it jumps to the next event's time.
#ifndef DISTKIT_SIM_WORLD_SCHEDULER_H_
#define DISTKIT_SIM_WORLD_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "distkit/core/async/clock.h"

namespace distkit::sim {

// True simulated time since the start of the run (no node's skew applies).
using SimTime = Duration;

class Scheduler {
 public:
  using Callback = std::function<void()>;
  using EventId = std::uint64_t;

  [[nodiscard]] SimTime now() const { return now_; }

  // Runs `fn` at `when` (an earlier time means now). Returns an id for cancel().
  EventId at(SimTime when, Callback fn);
  EventId after(Duration delay, Callback fn) { return at(now_ + delay, std::move(fn)); }
  // True if the event was pending: it will not run. False if it already ran, was
  // cancelled, or the id is unknown. O(1).
  bool cancel(EventId id);

  // Runs the next event (advancing time to it). False when there is none.
  bool step();
  // Runs every event due at or before `limit`, then sets the time to `limit`.
  void run_until(SimTime limit);

  [[nodiscard]] std::optional<SimTime> next_time();
  // Events scheduled and neither run nor cancelled.
  [[nodiscard]] std::size_t pending() const { return heap_.size() - cancelled_; }
  [[nodiscard]] std::uint64_t events_run() const { return events_run_; }

 private:
  // An event id names a slot and the slot's generation, so cancel() is O(1) with no
  // hashing, and an id whose event already ran no longer matches its slot.
  struct Slot {
    std::uint32_t generation = 0;
    bool live = false;
    bool cancelled = false;
  };
  struct Event {
    SimTime when;
    std::uint64_t seq;
    std::uint32_t slot;
    Callback fn;
  };
  // Min-heap on (when, seq).
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };
  // Pops the next event that was not cancelled, if any.
  std::optional<Event> pop();
  void drop_cancelled_top();

  SimTime now_{0};
  std::uint64_t next_seq_ = 1;
  std::uint64_t events_run_ = 0;
  std::vector<Event> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t cancelled_ = 0;  // cancelled events still in the heap
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_SCHEDULER_H_
