// The in-memory Raft log of one member: entries from index 1, where each is in its
// life (handed to the driver to persist, durable, committed, applied). The machine
// keeps the whole log; compaction to a snapshot will drop a prefix.
#ifndef DISTKIT_CORE_RAFT_LOG_H_
#define DISTKIT_CORE_RAFT_LOG_H_

#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "distkit/core/raft/types.h"

namespace distkit::raft {

class RaftLog {
 public:
  RaftLog() = default;
  // Entries 1..n, as recovered from durable storage (all durable).
  explicit RaftLog(std::vector<Entry> durable);

  [[nodiscard]] Index last_index() const { return entries_.size(); }
  [[nodiscard]] Term last_term() const { return entries_.empty() ? 0 : entries_.back().term; }
  // The term of entry i; 0 for i == 0; nullopt past the end.
  [[nodiscard]] std::optional<Term> term(Index i) const;
  [[nodiscard]] bool matches(Index i, Term t) const { return term(i) == t; }
  [[nodiscard]] const Entry& at(Index i) const { return entries_[i - 1]; }
  // Whether a log ending at (index, term) is at least as up to date as this one
  // (Raft §5.4.1: the later last term wins, then the longer log).
  [[nodiscard]] bool is_up_to_date(Index index, Term term) const;

  // The first of `entries` (contiguous) that is not already in the log with the same
  // term, or 0 when all are.
  [[nodiscard]] Index find_conflict(std::span<const Entry> entries) const;
  // The last index <= `index` whose term is <= `term`, with its term: where a leader
  // of `term` may find a match, skipping a whole term per round trip.
  [[nodiscard]] std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // Appends contiguous `entries`; the first may be at or below last_index() + 1, and
  // then replaces the suffix from there. Returns the first index replaced or added.
  Index append(std::span<const Entry> entries);
  // Entries lo..hi (inclusive), stopping after `max_bytes` of data (at least one).
  [[nodiscard]] std::vector<Entry> slice(Index lo, Index hi, std::size_t max_bytes) const;

 private:
  std::vector<Entry> entries_;  // entries_[i - 1] is entry i
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_LOG_H_
