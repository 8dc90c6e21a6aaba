#include "distkit/core/raft/log.h"

#include <algorithm>

namespace distkit::raft {

RaftLog::RaftLog(std::vector<Entry> durable) : entries_(std::move(durable)) {}

std::optional<Term> RaftLog::term(Index i) const {
  if (i == 0) return Term{0};
  if (i > last_index()) return std::nullopt;
  return entries_[i - 1].term;
}

bool RaftLog::is_up_to_date(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

Index RaftLog::find_conflict(std::span<const Entry> entries) const {
  for (const Entry& e : entries) {
    if (!matches(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term term) const {
  Index i = std::min(index, last_index());
  while (i > 0 && entries_[i - 1].term > term)
    --i;
  return {i, i == 0 ? Term{0} : entries_[i - 1].term};
}

Index RaftLog::append(std::span<const Entry> entries) {
  if (entries.empty()) return last_index() + 1;
  const Index first = entries.front().index;
  entries_.resize(first - 1);
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return first;
}

std::vector<Entry> RaftLog::slice(Index lo, Index hi, std::size_t max_bytes) const {
  std::vector<Entry> out;
  std::size_t bytes = 0;
  for (Index i = lo; i <= hi && i <= last_index(); ++i) {
    const Entry& e = entries_[i - 1];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

}  // namespace distkit::raft
