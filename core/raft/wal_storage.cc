#include "distkit/core/raft/wal_storage.h"

#include <algorithm>
#include <string>
#include <utility>

namespace distkit::raft {

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
  Result<RecoveredWal> recovered = recover_wal(images);
  if (!recovered.ok()) co_return recovered.status();

  wal->recovered_.hard_state = recovered->hard_state;
  wal->recovered_.entries = std::move(recovered->entries);
  wal->last_index_ = wal->recovered_.entries.size();
  wal->torn_bytes_ = recovered->torn_bytes;
  wal->encoder_ = WalEncoder(recovered->chain_crc);
  if (found.empty()) {
    if (Status s = co_await wal->start_segment(0, 1); !s.ok()) co_return s;
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
    if (Status s = wal->segment_->write(0, header); !s.ok()) co_return s;
    wal->end_ = header.size();
  }
  if (Status s = co_await wal->segment_->sync(); !s.ok()) co_return s;
  co_return std::move(wal);
}

Task<Status> WalStorage::start_segment(std::uint64_t seq, Index first_index) {
  const std::string name = segment_file_name(seq, first_index);
  Result<std::unique_ptr<File>> f = disk_.open(name, true);
  if (!f.ok()) co_return f.status();
  std::string header;
  encoder_.append_segment_header(seq, first_index, header);
  std::string image = header;
  image.resize(std::max(options_.segment_bytes, header.size()), '\0');  // preallocated
  if (Status s = (*f)->write(0, image); !s.ok()) co_return s;
  // The header, then the name: both durable before the segment is used.
  if (Status s = co_await (*f)->sync(); !s.ok()) co_return s;
  if (Status s = co_await disk_.sync_directory(); !s.ok()) co_return s;
  segment_ = std::move(*f);
  seq_ = seq;
  end_ = header.size();
  ++segments_created_;
  co_return Status();
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

  if (end_ + records.size() > options_.segment_bytes && end_ > kRecordHeaderBytes + 24) {
    // Full: the records go to a new segment. This one is synced first (if a persist
    // without sync left records in it): a damaged record anywhere but the last
    // segment's tail is data loss at the next open.
    if (unsynced_) {
      if (Status s = co_await segment_->sync(); !s.ok()) {
        failed_ = data_loss_error("WAL: sync failed; the log must be reopened: " + s.message());
        co_return failed_;
      }
      unsynced_ = false;
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
  if (sync) {
    if (Status s = co_await segment_->sync(); !s.ok()) {
      failed_ = data_loss_error("WAL: sync failed; the log must be reopened: " + s.message());
      co_return failed_;
    }
  }
  unsynced_ = !sync;
  encoder_ = encoder;
  end_ += records.size();
  if (!entries.empty()) last_index_ = entries.back().index;
  co_return Status();
}

}  // namespace distkit::raft
