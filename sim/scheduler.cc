#include "distkit/sim/scheduler.h"

#include <algorithm>

namespace distkit::sim {

Scheduler::EventId Scheduler::at(SimTime when, Callback fn) {
  const EventId seq = next_seq_++;
  heap_.push_back(Event{std::max(when, now_), seq, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  return seq;
}

void Scheduler::cancel(EventId id) { cancelled_.insert(id); }

void Scheduler::drop_cancelled_top() {
  while (!heap_.empty() && !cancelled_.empty()) {
    auto it = cancelled_.find(heap_.front().seq);
    if (it == cancelled_.end()) return;
    cancelled_.erase(it);
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
  }
}

std::optional<SimTime> Scheduler::next_time() {
  drop_cancelled_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

bool Scheduler::step() {
  drop_cancelled_top();
  if (heap_.empty()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), Later());
  Event event = std::move(heap_.back());
  heap_.pop_back();
  now_ = event.when;
  ++events_run_;
  event.fn();
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
