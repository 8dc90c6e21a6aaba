#include "distkit/core/raft/log.h"

#include <algorithm>

namespace distkit::raft {

RaftLog::RaftLog(std::vector<Entry> durable, Index snapshot_index, Term snapshot_term)
    : entries_(std::move(durable)),
      snapshot_index_(snapshot_index),
      snapshot_term_(snapshot_term) {}

std::optional<Term> RaftLog::term(Index i) const {
  if (i == snapshot_index_) return snapshot_term_;
  if (i < snapshot_index_ || i > last_index()) return std::nullopt;
  return at(i).term;
}

bool RaftLog::is_up_to_date(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

Index RaftLog::find_conflict(std::span<const Entry> entries) const {
  for (const Entry& e : entries) {
    if (e.index <= snapshot_index_) continue;
    if (!matches(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term term) const {
  Index i = std::min(index, last_index());
  if (i <= snapshot_index_) return {snapshot_index_, snapshot_term_};
  while (i > snapshot_index_ && at(i).term > term)
    --i;
  return {i, *this->term(i)};
}

Index RaftLog::append(std::span<const Entry> entries) {
  if (entries.empty()) return last_index() + 1;
  const Index first = entries.front().index;
  entries_.resize(first - first_index());
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return first;
}

std::vector<Entry> RaftLog::slice(Index lo, Index hi, std::size_t max_bytes) const {
  std::vector<Entry> out;
  std::size_t bytes = 0;
  for (Index i = std::max(lo, first_index()); i <= hi && i <= last_index(); ++i) {
    const Entry& e = at(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

void RaftLog::compact(Index index) {
  const Term t = *term(index);
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
  snapshot_term_ = t;
}

void RaftLog::restore(Index index, Term term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
}

}  // namespace distkit::raft
