// The in-memory Raft log of one member: the entries after its snapshot (or from index
// 1 when it has none), each in its life (handed to the driver to persist, durable,
// committed, applied). Compaction drops a prefix that a snapshot covers; the entry at
// the snapshot's index keeps its term, so appends after it can still be matched.
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
  // Entries snapshot_index + 1 .. n, as recovered from durable storage (all durable),
  // after a snapshot of (snapshot_index, snapshot_term) (0, 0: none).
  explicit RaftLog(std::vector<Entry> durable, Index snapshot_index = 0, Term snapshot_term = 0);

  // The snapshot the log starts after; entries up to it are compacted away.
  [[nodiscard]] Index snapshot_index() const { return snapshot_index_; }
  [[nodiscard]] Term snapshot_term() const { return snapshot_term_; }
  [[nodiscard]] Index first_index() const { return snapshot_index_ + 1; }
  [[nodiscard]] Index last_index() const { return snapshot_index_ + entries_.size(); }
  [[nodiscard]] Term last_term() const {
    return entries_.empty() ? snapshot_term_ : entries_.back().term;
  }
  // The term of entry i; 0 for i == 0; nullopt past the end or before the snapshot.
  [[nodiscard]] std::optional<Term> term(Index i) const;
  [[nodiscard]] bool matches(Index i, Term t) const { return term(i) == t; }
  // REQUIRES first_index() <= i <= last_index().
  [[nodiscard]] const Entry& at(Index i) const { return entries_[i - first_index()]; }
  // Whether a log ending at (index, term) is at least as up to date as this one
  // (Raft §5.4.1: the later last term wins, then the longer log).
  [[nodiscard]] bool is_up_to_date(Index index, Term term) const;

  // The first of `entries` (contiguous) that is not already in the log with the same
  // term, or 0 when all are. Entries the snapshot covers count as present (they are
  // committed, so the leader's are the same).
  [[nodiscard]] Index find_conflict(std::span<const Entry> entries) const;
  // The last index <= `index` whose term is <= `term`, with its term: where a leader
  // of `term` may find a match, skipping a whole term per round trip. Never below the
  // snapshot (whose entry is committed, so it matches any leader's).
  [[nodiscard]] std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // Appends contiguous `entries`; the first may be at or below last_index() + 1 (but
  // after the snapshot), and then replaces the suffix from there. Returns the first
  // index replaced or added.
  Index append(std::span<const Entry> entries);
  // Entries lo..hi (inclusive, lo after the snapshot), stopping after `max_bytes` of
  // data (at least one).
  [[nodiscard]] std::vector<Entry> slice(Index lo, Index hi, std::size_t max_bytes) const;

  // Drops the entries up to `index` (REQUIRES snapshot_index() < index <= last_index()).
  void compact(Index index);
  // Drops every entry: the log starts after a snapshot of (index, term).
  void restore(Index index, Term term);

 private:
  std::vector<Entry> entries_;  // entries_[i - first_index()] is entry i
  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_LOG_H_
