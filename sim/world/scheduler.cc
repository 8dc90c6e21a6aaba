#include "distkit/sim/world/scheduler.h"

#include <algorithm>

namespace distkit::sim {

Scheduler::EventId Scheduler::at(SimTime when, Callback fn) {
  std::uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.live = true;
  s.cancelled = false;
  ++s.generation;
  heap_.push_back(Event{std::max(when, now_), next_seq_++, slot, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  return (static_cast<EventId>(slot) << 32) | s.generation;
}

bool Scheduler::cancel(EventId id) {
  const std::uint64_t slot = id >> 32;
  if (slot >= slots_.size()) return false;
  Slot& s = slots_[slot];
  if (!s.live || s.cancelled || s.generation != static_cast<std::uint32_t>(id)) return false;
  s.cancelled = true;
  ++cancelled_;
  return true;
}

void Scheduler::drop_cancelled_top() {
  while (cancelled_ > 0 && !heap_.empty() && slots_[heap_.front().slot].cancelled) {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    Slot& s = slots_[heap_.back().slot];
    s.live = false;
    s.cancelled = false;
    free_slots_.push_back(heap_.back().slot);
    heap_.pop_back();
    --cancelled_;
  }
}

std::optional<SimTime> Scheduler::next_time() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

std::optional<Scheduler::Event> Scheduler::pop() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), Later());
  Event event = std::move(heap_.back());
  heap_.pop_back();
  slots_[event.slot].live = false;
  free_slots_.push_back(event.slot);
  return event;
}

bool Scheduler::step() {
  std::optional<Event> event = pop();
  if (!event) return false;
  now_ = event->when;
  ++events_run_;
  event->fn();
  return true;
}

void Scheduler::run_until(SimTime limit) {
  while (true) {
    std::optional<SimTime> next = next_time();
    if (!next || *next > limit) break;
    step();
  }
  now_ = std::max(now_, limit);
}

}  // namespace distkit::sim
