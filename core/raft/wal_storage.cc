#include "distkit/core/raft/wal_storage.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

constexpr char kSnapshotTemp[] = "snap.tmp";

std::string snapshot_file_name(Index index) {
  char name[48];
  std::snprintf(name, sizeof name, "snap-%016llx.snap", static_cast<unsigned long long>(index));
  return name;
}

bool is_snapshot_file_name(const std::string& name) {
  return name.size() == 5 + 16 + 5 && name.rfind("snap-", 0) == 0 &&
         name.compare(21, 5, ".snap") == 0;
}

// The newest snapshot in `disk` (empty: none). A damaged newest one is kDataLoss:
// the segments it replaced may be gone.
Result<Snapshot> read_newest_snapshot(Disk& disk) {
  std::string newest;
  for (const std::string& name : disk.list()) {
    if (is_snapshot_file_name(name)) newest = std::max(newest, name);  // fixed-width hex
  }
  if (newest.empty()) return Snapshot{};
  Result<std::unique_ptr<File>> f = disk.open(newest, false);
  if (!f.ok()) return f.status();
  Result<std::string> bytes = (*f)->read_all();
  if (!bytes.ok()) return bytes.status();
  Result<Snapshot> snapshot = decode_snapshot(*bytes);
  if (!snapshot.ok())
    return data_loss_error("WAL: snapshot file " + newest + ": " + snapshot.status().message());
  if (snapshot_file_name(snapshot->metadata.index) != newest)
    return data_loss_error("WAL: snapshot file " + newest + " holds the snapshot of index " +
                           std::to_string(snapshot->metadata.index));
  return snapshot;
}

}  // namespace

Status WalStorage::fail(Status s) {
  if (s.code() == StatusCode::kDataLoss) {
    failed_ = data_loss_error("WAL: sync failed; the log must be reopened: " + s.message());
  } else {
    failed_ = s;
  }
  return failed_;
}

Task<Status> WalStorage::sync_segment() {
  if (Status s = co_await segment_->sync(); !s.ok()) co_return fail(s);
  unsynced_ = false;
  co_return Status();
}

Task<Result<std::unique_ptr<WalStorage>>> WalStorage::open(Disk& disk, WalOptions options) {
  std::unique_ptr<WalStorage> wal(new WalStorage(disk, options));
  // The segments, in order; other files are not ours.
  std::vector<std::pair<SegmentName, std::string>> found;
  for (const std::string& name : disk.list()) {
    if (name.rfind("wal-", 0) != 0) continue;
    Result<SegmentName> parsed = parse_segment_file_name(name);
    if (!parsed.ok())
      co_return data_loss_error("WAL: a file named like a segment is not one: '" + name + "'");
    found.emplace_back(*parsed, name);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first.seq < b.first.seq; });
  // Segments before a gap in the numbering are what a compaction was removing when the
  // member went down (removals are not synced): the snapshot covers them, or the check
  // below finds the log does not reach the snapshot. They are removed once the log
  // opens.
  std::vector<std::string> leftovers;
  for (std::size_t k = found.size(); k-- > 1;) {
    if (found[k].first.seq != found[k - 1].first.seq + 1) {
      for (std::size_t j = 0; j < k; ++j)
        leftovers.push_back(found[j].second);
      found.erase(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(k));
      break;
    }
  }
  Result<Snapshot> snapshot = read_newest_snapshot(disk);
  if (!snapshot.ok()) co_return snapshot.status();
  std::vector<std::string> contents;
  for (const auto& [parsed, name] : found) {
    Result<std::unique_ptr<File>> f = disk.open(name, false);
    if (!f.ok()) co_return f.status();
    Result<std::string> bytes = (*f)->read_all();
    if (!bytes.ok()) co_return bytes.status();
    contents.push_back(std::move(*bytes));
  }
  std::vector<SegmentImage> images;
  for (std::size_t i = 0; i < found.size(); ++i)
    images.push_back({.seq = found[i].first.seq, .bytes = contents[i]});
  Result<RecoveredWal> recovered = recover_wal(images, options.mutation);
  if (!recovered.ok()) co_return recovered.status();
  while (found.size() > recovered->segments_used) {  // WalMutation::kTruncateOnDamage
    if (Status s = disk.remove(found.back().second); !s.ok()) co_return s;
    found.pop_back();
    contents.pop_back();
  }

  for (const auto& [parsed, name] : found)
    wal->segments_.push_back({parsed.seq, parsed.first_index});
  // The log after the snapshot.
  const Index s = snapshot->metadata.index;
  const Index base = recovered->base;
  std::vector<Entry>& entries = recovered->entries;
  if (base > s)
    co_return data_loss_error("WAL: the log begins after entry " + std::to_string(base) +
                              ", but the newest snapshot ends at entry " + std::to_string(s) +
                              ": the entries between are lost");
  const Index log_end = base + entries.size();
  bool continues;  // the log holds the snapshot's last entry, so what follows fits it
  if (s == 0) {
    continues = true;
  } else if (s == base) {
    continues = !recovered->base_is_mark || recovered->base_term == snapshot->metadata.term;
  } else {
    continues = s <= log_end && entries[s - base - 1].term == snapshot->metadata.term;
  }
  if (continues) {
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(s - base));
  } else {
    // A snapshot from the leader whose mark did not make it: the log before was void.
    entries.clear();
  }
  wal->recovered_.hard_state = recovered->hard_state;
  wal->hard_state_ = recovered->hard_state;
  wal->recovered_.hard_state.commit = std::max(wal->recovered_.hard_state.commit, s);
  wal->recovered_.entries = std::move(entries);
  wal->last_index_ = s + wal->recovered_.entries.size();
  wal->recovered_.snapshot = std::move(*snapshot);
  wal->torn_bytes_ = recovered->torn_bytes;
  wal->encoder_ = WalEncoder(recovered->chain_crc);
  if (found.empty()) {
    if (Status st = co_await wal->start_segment(0, wal->last_index_ + 1); !st.ok()) co_return st;
    // Every segment is gone but the snapshot is there: the log continues after it.
    if (s > 0) {
      if (Status st = co_await wal->write_mark(s, wal->recovered_.snapshot.metadata.term); !st.ok())
        co_return st;
    }
    co_return std::move(wal);
  }
  wal->seq_ = found.back().first.seq;
  Result<std::unique_ptr<File>> last = disk.open(found.back().second, false);
  if (!last.ok()) co_return last.status();
  wal->segment_ = std::move(*last);
  wal->end_ = recovered->last_segment_end;
  const std::string& image = contents.back();
  if (wal->end_ < image.size() && recovered->torn_bytes > 0) {
    // Zero the torn tail, so the next records are not mistaken for it and nothing of it
    // can reappear.
    if (Status s = wal->segment_->write(wal->end_, std::string(image.size() - wal->end_, '\0'));
        !s.ok())
      co_return s;
  }
  if (wal->end_ > 0) {
    // Write the valid data again before syncing: if the last run stopped on a failed
    // sync, the kernel may show bytes it will never write (fsyncgate), and a sync would
    // report them durable. (Closed segments were synced before the next one began.)
    if (Status s = wal->segment_->write(0, std::string_view(image).substr(0, wal->end_)); !s.ok())
      co_return s;
  }
  if (wal->end_ == 0) {
    // Not even the header survived: write it again.
    std::string header;
    wal->encoder_.append_segment_header(wal->seq_, wal->last_index_ + 1, header);
    wal->encoder_.append_hard_state(wal->hard_state_, header);
    if (Status s = wal->segment_->write(0, header); !s.ok()) co_return s;
    wal->end_ = header.size();
  }
  if (Status s = co_await wal->segment_->sync(); !s.ok()) co_return s;
  if (!continues) {
    // A leader's snapshot whose mark did not make it: the entries appended next continue
    // the snapshot, not the void log before it.
    if (Status st = co_await wal->write_mark(s, wal->recovered_.snapshot.metadata.term); !st.ok())
      co_return st;
  }
  for (const std::string& name : leftovers) {
    if (Status st = disk.remove(name); !st.ok()) co_return st;
  }
  co_return std::move(wal);
}

// Appends a snapshot mark (the log continues after (index, term)) and syncs it.
Task<Status> WalStorage::write_mark(Index index, Term term) {
  std::string mark;
  WalEncoder encoder = encoder_;
  encoder.append_snapshot_mark(index, term, mark);
  if (Status s = segment_->write(end_, mark); !s.ok()) co_return fail(s);
  if (Status s = co_await sync_segment(); !s.ok()) co_return s;
  encoder_ = encoder;
  end_ += mark.size();
  co_return Status();
}

Task<Status> WalStorage::start_segment(std::uint64_t seq, Index first_index) {
  const std::string name = segment_file_name(seq, first_index);
  Result<std::unique_ptr<File>> f = disk_.open(name, true);
  if (!f.ok()) co_return f.status();
  // The header, and the latest hard state: every segment holds one, so removing older
  // segments (compaction) never loses it.
  std::string header;
  encoder_.append_segment_header(seq, first_index, header);
  encoder_.append_hard_state(hard_state_, header);
  std::string image = header;
  image.resize(std::max(options_.segment_bytes, header.size()), '\0');  // preallocated
  if (Status s = (*f)->write(0, image); !s.ok()) co_return s;
  // The header, then the name: both durable before the segment is used.
  if (Status s = co_await (*f)->sync(); !s.ok()) co_return s;
  if (Status s = co_await disk_.sync_directory(); !s.ok()) co_return s;
  segment_ = std::move(*f);
  seq_ = seq;
  end_ = header.size();
  data_start_ = end_;
  segments_.push_back({seq, first_index});
  ++segments_created_;
  co_return Status();
}

Task<Status> WalStorage::save_snapshot(const Snapshot& snapshot) {
  if (!failed_.ok()) co_return failed_;
  const std::string name = snapshot_file_name(snapshot.metadata.index);
  {
    Result<std::unique_ptr<File>> f = disk_.open(kSnapshotTemp, true);
    if (!f.ok()) co_return f.status();
    if (Status s = (*f)->truncate(0); !s.ok()) co_return s;
    if (Status s = (*f)->write(0, encode_snapshot(snapshot)); !s.ok()) co_return s;
    if (Status s = co_await (*f)->sync(); !s.ok()) co_return fail(s);
  }
  if (Status s = disk_.rename(kSnapshotTemp, name); !s.ok()) co_return s;
  if (Status s = co_await disk_.sync_directory(); !s.ok()) co_return fail(s);
  for (const std::string& other : disk_.list()) {
    if (is_snapshot_file_name(other) && other < name) {
      if (Status s = disk_.remove(other); !s.ok()) co_return s;
    }
  }
  co_return Status();
}

Task<Status> WalStorage::install_snapshot(const SnapshotMetadata& snapshot) {
  if (!failed_.ok()) co_return failed_;
  // A segment of its own, beginning with the mark, so the ones before can all go.
  if (unsynced_) {
    if (Status s = co_await sync_segment(); !s.ok()) co_return s;
  }
  if (Status s = co_await start_segment(seq_ + 1, snapshot.index + 1); !s.ok()) co_return fail(s);
  if (Status s = co_await write_mark(snapshot.index, snapshot.term); !s.ok()) co_return s;
  last_index_ = snapshot.index;
  co_return compact(snapshot.index + 1);
}

Status WalStorage::compact(Index index) {
  if (!failed_.ok()) return failed_;
  std::size_t drop = 0;
  // Segment k goes when the next one begins at or before `index`.
  while (drop + 1 < segments_.size() && segments_[drop + 1].first_index <= index)
    ++drop;
  for (std::size_t k = 0; k < drop; ++k) {
    if (Status s = disk_.remove(segment_file_name(segments_[k].seq, segments_[k].first_index));
        !s.ok())
      return s;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
  return Status();
}

Task<Status> WalStorage::persist(std::span<const Entry> entries,
                                 std::optional<HardState> hard_state, bool sync) {
  if (!failed_.ok()) co_return failed_;
  if (entries.empty() && !hard_state) co_return Status();
  if (!entries.empty() && (entries.front().index == 0 || entries.front().index > last_index_ + 1))
    co_return invalid_argument_error("WAL: entry " + std::to_string(entries.front().index) +
                                     " would leave a gap after entry " +
                                     std::to_string(last_index_));
  std::string records;
  WalEncoder encoder = encoder_;
  for (const Entry& e : entries)
    encoder.append_entry(e, records);
  if (hard_state) encoder.append_hard_state(*hard_state, records);

  if (end_ + records.size() > options_.segment_bytes && end_ > data_start_) {
    // Full: the records go to a new segment. This one is synced first (if a persist
    // without sync left records in it): a damaged record anywhere but the last
    // segment's tail is data loss at the next open.
    if (unsynced_) {
      if (Status s = co_await sync_segment(); !s.ok()) co_return s;
    }
    const Index first = entries.empty() ? last_index_ + 1 : entries.front().index;
    if (Status s = co_await start_segment(seq_ + 1, first); !s.ok()) {
      failed_ = s;
      co_return s;
    }
    records.clear();
    encoder = encoder_;
    for (const Entry& e : entries)
      encoder.append_entry(e, records);
    if (hard_state) encoder.append_hard_state(*hard_state, records);
  }
  if (Status s = segment_->write(end_, records); !s.ok()) {
    failed_ = s;
    co_return s;
  }
  unsynced_ = true;
  if (sync) {
    if (Status s = co_await sync_segment(); !s.ok()) co_return s;
  }
  encoder_ = encoder;
  end_ += records.size();
  if (!entries.empty()) last_index_ = entries.back().index;
  if (hard_state) hard_state_ = *hard_state;
  co_return Status();
}

}  // namespace distkit::raft
