// WalStorage: the Raft log on the storage seam (core/seam/disk.h), in the format of
// wal_format.h. open() recovers the durable state (cutting a torn tail, refusing any
// other damage with kDataLoss); persist() appends one Ready's entries and hard state
// and makes them durable with one sync (group commit), rolling over to a new segment
// when the current one is full. The same code runs on the simulated disk and, later,
// on files.
//
// Failure: a sync that fails is fail-stop. persist() returns kDataLoss, and every
// later call fails too. The process must restart and recover from what is durable,
// because after a failed fsync the kernel may already have dropped the data and then
// report a retry as a success.
//
// Snapshots are files "snap-<index, 16 hex>.snap" in codec.h's snapshot format, written
// tmp -> sync -> rename -> directory sync, so a crash leaves the old one or the new one
// whole. open() restores the newest; the log is what follows it. A snapshot from the
// leader replaces the log (install_snapshot writes a mark the log continues after);
// one the member took itself lets compact() remove the segments it covers.
#ifndef DISTKIT_CORE_RAFT_WAL_STORAGE_H_
#define DISTKIT_CORE_RAFT_WAL_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/raft_machine.h"
#include "distkit/core/raft/wal_format.h"
#include "distkit/core/seam/disk.h"

namespace distkit::raft {

struct WalOptions {
  // A segment rolls over once it would pass this size; each is preallocated to it
  // with zeros (the simulator uses small segments so that rollover is exercised).
  std::size_t segment_bytes = 64 << 20;
  WalMutation mutation = WalMutation::kNone;  // tests only
};

class WalStorage {
 public:
  // Opens the log in `disk`, creating an empty one if there is none. kDataLoss for a
  // damaged log (nothing is changed); the disk's own errors as they come.
  [[nodiscard]] static Task<Result<std::unique_ptr<WalStorage>>> open(Disk& disk,
                                                                      WalOptions options = {});

  // What was durable at open(): the newest snapshot (empty: none), the log after it,
  // the hard state (its commit at least the snapshot's index).
  [[nodiscard]] const DurableState& recovered() const { return recovered_; }
  // Bytes a torn write had left in the last segment, discarded at open().
  [[nodiscard]] std::size_t torn_bytes_discarded() const { return torn_bytes_; }

  // Appends `entries` (the first may replace a suffix) and `hard_state`, then syncs
  // when `sync` (OK means durable). Without it (a Ready that only moves the commit
  // index) the records are written and made durable by the next sync; a segment is
  // synced before the log moves on to the next one, so only the last segment's tail
  // can ever be lost.
  [[nodiscard]] Task<Status> persist(std::span<const Entry> entries,
                                     std::optional<HardState> hard_state, bool sync = true);

  // Makes `snapshot` durable as the newest snapshot file, then removes older ones.
  [[nodiscard]] Task<Status> save_snapshot(const Snapshot& snapshot);
  // After save_snapshot() of a snapshot from the leader: the log restarts after it
  // (what it held before is void) and the segments before are removed.
  [[nodiscard]] Task<Status> install_snapshot(const SnapshotMetadata& snapshot);
  // Removes the segments that hold only entries before `index` (a durable snapshot's
  // index). The segment holding `index` stays (recovery checks the snapshot's term
  // against it). Not synced: a removed segment that comes back after a crash is
  // ignored or harmless.
  [[nodiscard]] Status compact(Index index);

  [[nodiscard]] std::uint64_t segments_created() const { return segments_created_; }
  [[nodiscard]] std::size_t segments() const { return segments_.size(); }

 private:
  WalStorage(Disk& disk, WalOptions options) : disk_(disk), options_(options) {}
  Task<Status> start_segment(std::uint64_t seq, Index first_index);
  Task<Status> sync_segment();
  Task<Status> write_mark(Index index, Term term);
  Status fail(Status s);

  Disk& disk_;
  WalOptions options_;
  DurableState recovered_;
  std::size_t torn_bytes_ = 0;
  struct Segment {
    std::uint64_t seq = 0;
    Index first_index = 0;
  };
  std::vector<Segment> segments_;  // every segment on disk, oldest first
  std::unique_ptr<File> segment_;
  std::uint64_t seq_ = 0;
  std::size_t end_ = 0;         // where the next record goes in segment_
  std::size_t data_start_ = 0;  // where the first record after its header went
  HardState hard_state_;        // the latest written
  WalEncoder encoder_;
  Index last_index_ = 0;
  std::uint64_t segments_created_ = 0;
  Status failed_;          // set once a sync failed: fail-stop
  bool unsynced_ = false;  // segment_ has records written without a sync
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_WAL_STORAGE_H_
