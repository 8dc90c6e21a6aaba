// WalStorage on the simulated disk: what persist() acknowledged survives every crash,
// however the unsynced writes are lost or torn; damage refuses to start; a failed sync
// stops the log. A disk that lies about sync (test-only) is caught by the same checks.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/raft/wal_storage.h"
#include "distkit/sim/disk/sim_disk.h"
#include "distkit/tests/support/queue_executor.h"

namespace distkit::raft {
namespace {

using sim::CrashLoss;
using sim::SimDisk;

// Runs `task` on the test's thread (the simulated disk never waits).
template <typename T>
T run_now(Task<T> task) {
  distkit::testing::QueueExecutor executor;
  std::optional<T> out = executor.run(std::move(task));
  if (!out) ADD_FAILURE() << "the task did not finish";
  return std::move(*out);
}

std::unique_ptr<WalStorage> open_wal(SimDisk& disk, std::size_t segment_bytes = 4096) {
  Result<std::unique_ptr<WalStorage>> r =
      run_now(WalStorage::open(disk, {.segment_bytes = segment_bytes}));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

Entry entry(Index index, Term term, std::string data) {
  return Entry{.term = term, .index = index, .data = std::move(data)};
}

TEST(RaftWalStorage, AnEmptyDiskGivesAnEmptyLogWhoseFirstSegmentIsDurable) {
  SimDisk disk;
  auto wal = open_wal(disk);
  ASSERT_NE(wal, nullptr);
  EXPECT_TRUE(wal->recovered().entries.empty());
  EXPECT_EQ(wal->recovered().hard_state, HardState{});
  disk.crash(CrashLoss::kEverythingUnsynced);
  ASSERT_EQ(disk.list().size(), 1u) << "the segment's creation was made durable";
  EXPECT_NE(open_wal(disk), nullptr);
}

TEST(RaftWalStorage, WhatWasPersistedIsRecoveredWithSuffixesReplaced) {
  SimDisk disk;
  {
    auto wal = open_wal(disk);
    const std::vector<Entry> first = {entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 1, "c")};
    ASSERT_TRUE(run_now(wal->persist(first, HardState{.term = 1, .vote = 1})).ok());
    const std::vector<Entry> replace = {entry(2, 2, "B")};
    ASSERT_TRUE(run_now(wal->persist(replace, HardState{.term = 2, .vote = 3, .commit = 1})).ok());
  }
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto wal = open_wal(disk);
  const std::vector<Entry> want = {entry(1, 1, "a"), entry(2, 2, "B")};
  EXPECT_EQ(wal->recovered().entries, want);
  EXPECT_EQ(wal->recovered().hard_state, (HardState{.term = 2, .vote = 3, .commit = 1}));
}

TEST(RaftWalStorage, SegmentsRollOverAndTheLogReadsAcrossThem) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  std::vector<Entry> all;
  for (Index i = 1; i <= 60; ++i) {
    all.push_back(entry(i, 1, std::string(40, static_cast<char>('a' + i % 26))));
    ASSERT_TRUE(run_now(wal->persist(std::span(&all.back(), 1), std::nullopt)).ok());
  }
  EXPECT_GT(wal->segments_created(), 5u);
  disk.crash(CrashLoss::kTornSectors);
  auto again = open_wal(disk, 512);
  EXPECT_EQ(again->recovered().entries, all);
}

// A Ready that only moves the commit index is written without a sync: a crash may
// lose it (the leader tells it again), never what was synced.
TEST(RaftWalStorage, ACommitWrittenWithoutASyncMayBeLostAndNothingElse) {
  SimDisk disk;
  {
    auto wal = open_wal(disk);
    const std::vector<Entry> first = {entry(1, 1, "a"), entry(2, 1, "b")};
    ASSERT_TRUE(run_now(wal->persist(first, HardState{.term = 1, .vote = 1})).ok());
    ASSERT_TRUE(
        run_now(wal->persist({}, HardState{.term = 1, .vote = 1, .commit = 2}, /*sync=*/false))
            .ok());
  }
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto wal = open_wal(disk);
  EXPECT_EQ(wal->recovered().entries.size(), 2u);
  EXPECT_EQ(wal->recovered().hard_state, (HardState{.term = 1, .vote = 1, .commit = 0}));
}

// An unsynced commit record at the end of a full segment is synced before the log
// moves to the next segment: a tear there would be damage mid-log (kDataLoss) at the
// next open. Every unsynced write of the last segment torn, the log still opens.
TEST(RaftWalStorage, ASegmentIsSyncedBeforeTheNextBeginsEvenAfterAnUnsyncedCommit) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SimDisk disk(seed);
    std::vector<Entry> all;
    {
      auto wal = open_wal(disk, 512);
      for (Index i = 1; i <= 30; ++i) {
        all.push_back(entry(i, 1, std::string(40, 'x')));
        ASSERT_TRUE(run_now(wal->persist(std::span(&all.back(), 1), std::nullopt)).ok());
        ASSERT_TRUE(
            run_now(wal->persist({}, HardState{.term = 1, .commit = i}, /*sync=*/false)).ok());
      }
      ASSERT_GT(wal->segments_created(), 3u);
    }
    disk.crash(CrashLoss::kTornSectors);
    Result<std::unique_ptr<WalStorage>> again =
        run_now(WalStorage::open(disk, {.segment_bytes = 512}));
    ASSERT_TRUE(again.ok()) << "seed " << seed << ": " << again.status();
    EXPECT_EQ((*again)->recovered().entries, all) << "seed " << seed;
  }
}

TEST(RaftWalStorage, AFlippedBitInADurableSegmentRefusesToStart) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  for (Index i = 1; i <= 30; ++i) {
    const Entry e = entry(i, 1, std::string(40, 'x'));
    ASSERT_TRUE(run_now(wal->persist(std::span(&e, 1), std::nullopt)).ok());
  }
  const std::string first = disk.list().front();
  ASSERT_TRUE(disk.flip_durable_bit(first, 8 * 100 + 3).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  Result<std::unique_ptr<WalStorage>> r = run_now(WalStorage::open(disk, {.segment_bytes = 512}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

TEST(RaftWalStorage, AFailedSyncStopsTheLog) {
  SimDisk disk;
  auto wal = open_wal(disk);
  disk.set_sync_fails(true);
  const Entry e = entry(1, 1, "a");
  Status s = run_now(wal->persist(std::span(&e, 1), std::nullopt));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  disk.set_sync_fails(false);
  EXPECT_EQ(run_now(wal->persist(std::span(&e, 1), std::nullopt)).code(), StatusCode::kDataLoss)
      << "fail-stop: no retry may report success";
}

// After a failed sync the data is readable but will never reach the disk (the kernel
// marked it clean). A restart that trusted it would acknowledge it, then lose it in a
// power cut; open() writes the recovered data again so its sync is real.
TEST(RaftWalStorage, AfterAFailedSyncTheReopenedLogMakesWhatItShowsDurable) {
  SimDisk disk;
  auto wal = open_wal(disk);
  const Entry a = entry(1, 1, "a");
  ASSERT_TRUE(run_now(wal->persist(std::span(&a, 1), std::nullopt)).ok());
  disk.set_sync_fails(true);
  const Entry b = entry(2, 1, "b");
  EXPECT_EQ(run_now(wal->persist(std::span(&b, 1), std::nullopt)).code(), StatusCode::kDataLoss);
  disk.set_sync_fails(false);
  wal.reset();
  auto reopened = open_wal(disk);  // a process restart: the page cache still shows "b"
  const std::vector<Entry> shown = reopened->recovered().entries;
  ASSERT_EQ(shown.size(), 2u);
  reopened.reset();
  disk.crash(CrashLoss::kEverythingUnsynced);  // then the machine loses power
  auto after = open_wal(disk);
  EXPECT_EQ(after->recovered().entries, shown) << "what the reopened log showed was durable";
}

TEST(RaftWalStorage, AGapIsRefused) {
  SimDisk disk;
  auto wal = open_wal(disk);
  const Entry e = entry(3, 1, "a");
  EXPECT_EQ(run_now(wal->persist(std::span(&e, 1), std::nullopt)).code(),
            StatusCode::kInvalidArgument);
}

// A random history of persists with crashes anywhere (a crash may interrupt a persist
// before its sync): after each, the log holds every acknowledged persist, and of the
// interrupted one at most a prefix of its records. `lying` makes sync lie: the property
// must then fail (so it can).
struct Batch {
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
};

std::optional<std::string> crash_history(std::uint64_t seed, const std::vector<int>& plan,
                                         bool lying) {
  SimDisk disk(seed);
  disk.set_lying_sync(lying);
  std::vector<Entry> model;
  HardState model_hs;
  Term term = 1;
  auto wal = open_wal(disk, 700);
  if (!wal) return "open failed";
  for (int step : plan) {
    if (step % 5 == 0) {
      // A crash. Half the time in the middle of a persist: its writes are made but the
      // sync never happens.
      std::optional<Batch> interrupted;
      if (step % 2 == 0) {
        Batch b;
        const Index from = std::max<Index>(1, model.size() + 1 - (step / 5) % 3);
        for (Index i = from; i < from + 3; ++i)
          b.entries.push_back(entry(i, term, "i"));
        disk.set_sync_fails(true);  // the persist's writes land, its sync does not
        (void)run_now(wal->persist(b.entries, std::nullopt));
        disk.set_sync_fails(false);
        interrupted = b;
      }
      wal.reset();
      disk.crash(step % 3 == 0 ? CrashLoss::kEverythingUnsynced : CrashLoss::kTornSectors);
      Result<std::unique_ptr<WalStorage>> r =
          run_now(WalStorage::open(disk, {.segment_bytes = 700}));
      if (!r.ok()) return "reopen: " + r.status().to_string();
      wal = std::move(*r);
      const std::vector<Entry>& got = wal->recovered().entries;
      bool fine = got == model;
      if (!fine && interrupted) {
        // Acknowledged entries, then a prefix of the interrupted batch.
        for (std::size_t k = 1; k <= interrupted->entries.size() && !fine; ++k) {
          std::vector<Entry> with = model;
          const Entry& first = interrupted->entries.front();
          with.resize(first.index - 1);
          with.insert(with.end(), interrupted->entries.begin(), interrupted->entries.begin() + k);
          fine = got == with;
        }
      }
      if (!fine)
        return "after a crash the log has " + std::to_string(got.size()) + " entries, " +
               std::to_string(model.size()) + " were acknowledged";
      if (!(wal->recovered().hard_state == model_hs)) return "the hard state went back";
      // What survived is the log from now on.
      model = got;
      continue;
    }
    Batch b;
    const Index from = std::max<Index>(1, model.size() + 1 - step % 2);
    if (step % 2) ++term;
    const int n = 1 + step % 4;
    for (int i = 0; i < n; ++i)
      b.entries.push_back(entry(from + i, term, std::string(step % 50, 'd')));
    if (step % 3 == 0) b.hard_state = HardState{.term = term, .vote = 1, .commit = from - 1};
    if (Status s = run_now(wal->persist(b.entries, b.hard_state)); !s.ok()) return s.to_string();
    model.resize(from - 1);
    model.insert(model.end(), b.entries.begin(), b.entries.end());
    if (b.hard_state) model_hs = *b.hard_state;
  }
  return std::nullopt;
}

RC_GTEST_PROP(RaftWalStorage, EveryAcknowledgedPersistSurvivesEveryCrash, ()) {
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000);
  const auto plan = *rc::gen::container<std::vector<int>>(rc::gen::inRange(1, 200));
  const std::optional<std::string> violation = crash_history(seed, plan, false);
  RC_LOG() << violation.value_or("");
  RC_ASSERT(!violation.has_value());
}

// Found by the property: a torn write whose lost sector held only the record's first
// bytes (the rest of that sector was older data) was taken for corruption (kDataLoss)
// because no whole sector was zero. The record's own bytes in a sector are what to
// look at.
TEST(RaftWalStorage, ATearInASectorSharedWithOlderRecordsIsATornWrite) {
  EXPECT_EQ(crash_history(128, {6, 140, 11, 115, 100}, false), std::nullopt);
}

TEST(RaftWalStorage, ALyingSyncIsCaughtByTheCrashProperty) {
  int caught = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<int> plan;
    SplitMix64 rng(seed);
    for (int i = 0; i < 60; ++i)
      plan.push_back(1 + static_cast<int>(rng.next_u64() % 199));
    if (crash_history(seed, plan, true)) ++caught;
  }
  EXPECT_GE(caught, 15);
}

// ---- Snapshots -------------------------------------------------------------------

Snapshot snapshot_of(Index index, Term term, std::string data = "state") {
  return Snapshot{.metadata = {.index = index, .term = term, .voters = {1, 2, 3}},
                  .data = std::move(data)};
}

std::vector<Entry> persist_entries(WalStorage& wal, Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) {
    out.push_back(entry(i, term, std::string(40, static_cast<char>('a' + i % 26))));
    EXPECT_TRUE(run_now(wal.persist(std::span(&out.back(), 1), std::nullopt)).ok());
  }
  return out;
}

TEST(RaftWalSnapshots, ASnapshotAndCompactionLeaveTheLogAfterIt) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  std::vector<Entry> all = persist_entries(*wal, 1, 60, 1);
  const std::size_t before = wal->segments();
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(40, 1))).ok());
  ASSERT_TRUE(wal->compact(40).ok());
  EXPECT_LT(wal->segments(), before) << "whole segments before entry 40 removed";
  EXPECT_EQ(disk.list().size(), wal->segments() + 1) << "the segments and one snapshot";
  disk.crash(CrashLoss::kTornSectors);
  auto again = open_wal(disk, 512);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().snapshot, snapshot_of(40, 1));
  EXPECT_EQ(again->recovered().entries, std::vector<Entry>(all.begin() + 40, all.end()));
  EXPECT_EQ(again->recovered().hard_state.commit, 40u) << "a snapshot holds committed entries";
  // The log goes on where it was.
  const Entry next = entry(61, 1, "n");
  EXPECT_TRUE(run_now(again->persist(std::span(&next, 1), std::nullopt)).ok());
}

TEST(RaftWalSnapshots, ANewerSnapshotReplacesTheOlderFile) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  persist_entries(*wal, 1, 30, 1);
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(10, 1, "old"))).ok());
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(20, 1, "new"))).ok());
  int snapshots = 0;
  for (const std::string& name : disk.list())
    snapshots += name.rfind("snap-", 0) == 0 ? 1 : 0;
  EXPECT_EQ(snapshots, 1);
  disk.crash(CrashLoss::kEverythingUnsynced);
  EXPECT_EQ(open_wal(disk, 512)->recovered().snapshot.data, "new");
}

TEST(RaftWalSnapshots, AnInstalledSnapshotVoidsTheLogBeforeIt) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  persist_entries(*wal, 1, 30, 1);  // a log the leader's snapshot replaces
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(50, 3))).ok());
  ASSERT_TRUE(run_now(wal->install_snapshot(snapshot_of(50, 3).metadata)).ok());
  EXPECT_EQ(wal->segments(), 1u);
  const std::vector<Entry> after = persist_entries(*wal, 51, 55, 3);
  disk.crash(CrashLoss::kTornSectors);
  auto again = open_wal(disk, 512);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().snapshot.metadata.index, 50u);
  EXPECT_EQ(again->recovered().entries, after);
}

TEST(RaftWalSnapshots, ACrashBeforeTheMarkLeavesTheSnapshotAndNoConflictingLog) {
  // The snapshot file is durable, the mark is not written: the old log, whose entry
  // 20 is of another term, must not continue after the snapshot.
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  persist_entries(*wal, 1, 30, 1);
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(20, 2))).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto again = open_wal(disk, 512);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().snapshot.metadata.index, 20u);
  EXPECT_TRUE(again->recovered().entries.empty());
  // The log continues after the snapshot, also across the next restart.
  const std::vector<Entry> next = persist_entries(*again, 21, 25, 2);
  disk.crash(CrashLoss::kTornSectors);
  EXPECT_EQ(open_wal(disk, 512)->recovered().entries, next);
  // Where the log holds the snapshot's last entry (same term), it continues.
  SimDisk same;
  auto w = open_wal(same, 512);
  const std::vector<Entry> all = persist_entries(*w, 1, 30, 2);
  ASSERT_TRUE(run_now(w->save_snapshot(snapshot_of(20, 2))).ok());
  same.crash(CrashLoss::kEverythingUnsynced);
  EXPECT_EQ(open_wal(same, 512)->recovered().entries,
            std::vector<Entry>(all.begin() + 20, all.end()));
}

TEST(RaftWalSnapshots, ADamagedSnapshotFileRefusesToStart) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  persist_entries(*wal, 1, 30, 1);
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(20, 1))).ok());
  ASSERT_TRUE(wal->compact(20).ok());
  std::string name;
  for (const std::string& n : disk.list()) {
    if (n.rfind("snap-", 0) == 0) name = n;
  }
  ASSERT_TRUE(disk.flip_durable_bit(name, 8 * 20 + 1).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  Result<std::unique_ptr<WalStorage>> r = run_now(WalStorage::open(disk, {.segment_bytes = 512}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("snap-"), std::string::npos) << r.status();
}

TEST(RaftWalSnapshots, SegmentsRemovedWithoutASnapshotAreDataLoss) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  persist_entries(*wal, 1, 60, 1);
  ASSERT_TRUE(wal->compact(40).ok());  // no snapshot covers them: a misuse, or lost files
  ASSERT_TRUE(run_now(disk.sync_directory()).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  Result<std::unique_ptr<WalStorage>> r = run_now(WalStorage::open(disk, {.segment_bytes = 512}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("entries between are lost"), std::string::npos) << r.status();
}

TEST(RaftWalSnapshots, RemovalsACrashUndoesAndAHalfWrittenSnapshotAreHarmless) {
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  const std::vector<Entry> all = persist_entries(*wal, 1, 60, 1);
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(45, 1))).ok());
  ASSERT_TRUE(wal->compact(45).ok());  // removals not made durable
  // The next snapshot was being written when the member went down.
  Result<std::unique_ptr<File>> tmp = disk.open("snap.tmp", true);
  ASSERT_TRUE(tmp.ok());
  ASSERT_TRUE((*tmp)->write(0, "half a snapsh").ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto again = open_wal(disk, 512);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().snapshot.metadata.index, 45u);
  EXPECT_EQ(again->recovered().entries, std::vector<Entry>(all.begin() + 45, all.end()));
  EXPECT_GT(again->segments(), wal->segments()) << "the removed segments came back";
  ASSERT_TRUE(again->compact(45).ok());
  EXPECT_EQ(again->segments(), wal->segments());
}

TEST(RaftWalSnapshots, TheHardStateOutlivesTheSegmentsItWasWrittenIn) {
  // Every segment begins with the latest hard state: an installed snapshot's segment,
  // and segments that only ever held entries, keep it when the older ones are removed.
  SimDisk disk;
  auto wal = open_wal(disk, 512);
  const HardState hs{.term = 3, .vote = 2, .commit = 10};
  const Entry first = entry(1, 3, "x");
  ASSERT_TRUE(run_now(wal->persist(std::span(&first, 1), hs)).ok());
  persist_entries(*wal, 2, 60, 3);  // entries only: later segments hold no hard state record
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(55, 3))).ok());
  ASSERT_TRUE(wal->compact(55).ok());
  ASSERT_TRUE(run_now(disk.sync_directory()).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto again = open_wal(disk, 512);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().hard_state.term, 3u);
  EXPECT_EQ(again->recovered().hard_state.vote, 2u);
  // And after installing a leader's snapshot, before anything else is written.
  ASSERT_TRUE(run_now(again->save_snapshot(snapshot_of(90, 3))).ok());
  ASSERT_TRUE(run_now(again->install_snapshot(snapshot_of(90, 3).metadata)).ok());
  ASSERT_TRUE(run_now(disk.sync_directory()).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto third = open_wal(disk, 512);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->recovered().hard_state.term, 3u);
  EXPECT_EQ(third->recovered().hard_state.vote, 2u);
  EXPECT_EQ(third->recovered().hard_state.commit, 90u);
}

TEST(RaftWalSnapshots, ASuffixRewrittenBelowTheFirstKeptSegmentRecovers) {
  SimDisk disk;
  auto wal = open_wal(disk, 4096);
  persist_entries(*wal, 1, 60, 1);
  ASSERT_EQ(wal->segments(), 2u) << "the second segment begins near entry 50";
  // A new leader replaces the suffix from 45, below where the current segment began;
  // the snapshot then lets the first segment go.
  std::vector<Entry> rewrite;
  for (Index i = 45; i <= 70; ++i)
    rewrite.push_back(entry(i, 2, "r" + std::to_string(i)));
  for (const Entry& e : rewrite)
    ASSERT_TRUE(run_now(wal->persist(std::span(&e, 1), std::nullopt)).ok());
  ASSERT_EQ(wal->segments(), 2u);
  ASSERT_TRUE(run_now(wal->save_snapshot(snapshot_of(65, 2))).ok());
  ASSERT_TRUE(wal->compact(65).ok());
  ASSERT_EQ(wal->segments(), 1u);
  ASSERT_TRUE(run_now(disk.sync_directory()).ok());
  disk.crash(CrashLoss::kEverythingUnsynced);
  auto again = open_wal(disk, 4096);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->recovered().entries, std::vector<Entry>(rewrite.end() - 5, rewrite.end()));
}

}  // namespace
}  // namespace distkit::raft
