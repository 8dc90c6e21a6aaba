// The WAL's bytes: what is written is recovered; a crash's torn tail is cut off; any
// other damage refuses to start (kDataLoss) instead of silently losing entries.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "distkit/core/raft/codec.h"
#include "distkit/core/raft/wal_format.h"

namespace distkit::raft {
namespace {

// A log written as the driver will: records appended to the last segment, a new
// segment every `per_segment` records, each segment preallocated with zeros.
struct Written {
  std::vector<std::string> files;
  std::vector<std::size_t> ends;  // each file's data end
  // The recovered state after each record: what a cut after it must give.
  std::vector<std::vector<Entry>> entries_after;
  std::vector<HardState> hard_state_after;
  std::vector<std::pair<std::size_t, std::size_t>> record_at;  // (file, end offset)
};

struct Op {
  bool hard_state = false;
  Index index = 1;  // an entry's index (<= last + 1)
  Term term = 1;
  std::string data;
};

Written write_log(const std::vector<Op>& ops, std::size_t per_segment, std::size_t preallocate) {
  Written w;
  WalEncoder enc;
  std::vector<Entry> entries;
  HardState hs;
  std::size_t in_segment = per_segment;  // start a segment at once
  for (const Op& op : ops) {
    if (in_segment == per_segment) {
      if (!w.files.empty()) w.files.back().resize(std::max(w.files.back().size(), preallocate));
      w.files.emplace_back();
      enc.append_segment_header(w.files.size() - 1, entries.size() + 1, w.files.back());
      in_segment = 0;
    }
    if (op.hard_state) {
      hs = HardState{.term = op.term, .vote = 1, .commit = entries.size()};
      enc.append_hard_state(hs, w.files.back());
    } else {
      const Index index = std::min<Index>(op.index, entries.size() + 1);
      const Entry e{.term = op.term, .index = index, .data = op.data};
      enc.append_entry(e, w.files.back());
      entries.resize(index - 1);
      entries.push_back(e);
    }
    ++in_segment;
    w.entries_after.push_back(entries);
    w.hard_state_after.push_back(hs);
    w.record_at.push_back({w.files.size() - 1, w.files.back().size()});
  }
  for (std::string& f : w.files) {
    w.ends.push_back(f.size());
    f.resize(std::max(f.size(), preallocate));
  }
  return w;
}

Result<RecoveredWal> recover(const std::vector<std::string>& files) {
  std::vector<SegmentImage> images;
  for (std::size_t i = 0; i < files.size(); ++i)
    images.push_back({i, files[i]});
  return recover_wal(images);
}

rc::Gen<std::vector<Op>> gen_ops() {
  return rc::gen::container<std::vector<Op>>(rc::gen::build<Op>(
      rc::gen::set(&Op::hard_state,
                   rc::gen::map(rc::gen::inRange(0, 5), [](int r) { return r == 0; })),
      rc::gen::set(&Op::index, rc::gen::inRange<Index>(1, 40)),
      rc::gen::set(&Op::term, rc::gen::inRange<Term>(1, 9)),
      rc::gen::set(&Op::data, rc::gen::container<std::string>(rc::gen::arbitrary<char>()))));
}

TEST(RaftWal, Crc32cIsTheCastagnoliChecksum) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the standard check value
}

TEST(RaftWal, SegmentNamesRoundTripAndOthersAreRefused) {
  EXPECT_EQ(segment_file_name(42, 1025), "wal-000000000000002a-0000000000000401.log");
  Result<SegmentName> n = parse_segment_file_name("wal-000000000000002a-0000000000000401.log");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->seq, 42u);
  EXPECT_EQ(n->first_index, 1025u);
  for (const char* bad : {"wal-2a-401.log", "wal-000000000000002A-0000000000000401.log",
                          "wal-000000000000002a-0000000000000401.tmp", "snap-1", ""}) {
    EXPECT_EQ(parse_segment_file_name(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

RC_GTEST_PROP(RaftWal, WhatIsWrittenIsRecovered, ()) {
  const std::vector<Op> ops = *gen_ops();
  const auto per_segment = *rc::gen::inRange<std::size_t>(1, 8);
  const Written w = write_log(ops, per_segment, *rc::gen::element<std::size_t>(0, 1024));
  Result<RecoveredWal> r = recover(w.files);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->entries == (ops.empty() ? std::vector<Entry>{} : w.entries_after.back()));
  RC_ASSERT(r->hard_state == (ops.empty() ? HardState{} : w.hard_state_after.back()));
  RC_ASSERT(r->torn_bytes == 0u);
  RC_ASSERT(r->last_segment_end == (w.files.empty() ? 0u : w.ends.back()));
}

// Appending after recovery, from last_segment_end with chain_crc, gives a log that
// recovers with both parts.
TEST(RaftWal, AppendingContinuesTheChainAfterRecovery) {
  Written w = write_log({{.index = 1, .data = "a"}, {.index = 2, .data = "b"}}, 10, 256);
  Result<RecoveredWal> r = recover(w.files);
  ASSERT_TRUE(r.ok());
  WalEncoder enc(r->chain_crc);
  std::string more;
  enc.append_entry(Entry{.term = 2, .index = 2, .data = "c"}, more);
  w.files.back().replace(r->last_segment_end, more.size(), more);
  Result<RecoveredWal> again = recover(w.files);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->entries.size(), 2u);
  EXPECT_EQ(again->entries[1].data, "c");
  EXPECT_EQ(again->entries[1].term, 2u);
}

// A crash can cut the last segment's file anywhere: recovery keeps exactly the records
// that are whole.
RC_GTEST_PROP(RaftWal, EveryCutOfTheLastSegmentKeepsTheWholeRecords, ()) {
  const std::vector<Op> ops = *rc::gen::resize(12, gen_ops());
  RC_PRE(!ops.empty());
  const Written w = write_log(ops, 100, 0);  // one segment
  const std::string& file = w.files[0];
  for (std::size_t cut = 0; cut <= file.size(); ++cut) {
    Result<RecoveredWal> r = recover({file.substr(0, cut)});
    RC_ASSERT(r.ok());
    std::size_t whole = 0;
    while (whole < ops.size() && w.record_at[whole].second <= cut)
      ++whole;
    RC_ASSERT(r->entries == (whole == 0 ? std::vector<Entry>{} : w.entries_after[whole - 1]));
    // Nothing valid before the segment's header is whole (the driver writes it again).
    const std::size_t header_end = 32;
    const std::size_t end = cut < header_end ? 0
                            : whole == 0     ? header_end
                                             : w.record_at[whole - 1].second;
    RC_ASSERT(r->last_segment_end == end);
  }
}

// A flipped bit in a closed segment is kDataLoss; in the last, it is kDataLoss or, when
// it lies in a sector a torn write could have left zero, a cut there. Never a different
// log.
RC_GTEST_PROP(RaftWal, AFlippedBitIsNeverASilentlyDifferentLog, ()) {
  const std::vector<Op> ops = *rc::gen::resize(10, gen_ops());
  RC_PRE(ops.size() >= 2);
  const Written w = write_log(ops, (ops.size() + 1) / 2, 0);
  const std::vector<Entry>& all = w.entries_after.back();
  for (std::size_t f = 0; f < w.files.size(); ++f) {
    for (std::size_t bit = 0; bit < w.files[f].size() * 8; ++bit) {
      std::vector<std::string> files = w.files;
      files[f][bit / 8] = static_cast<char>(files[f][bit / 8] ^ (1 << (bit % 8)));
      Result<RecoveredWal> r = recover(files);
      if (!r.ok()) {
        RC_ASSERT(r.status().code() == StatusCode::kDataLoss);
        continue;
      }
      const bool last = f + 1 == w.files.size();
      RC_ASSERT(last);  // a closed segment's damage is never accepted
      RC_ASSERT(r->torn_bytes > 0u);
      RC_ASSERT(r->entries.size() <= all.size());
      // A prefix of the history: equal to the state after some record.
      bool a_prefix = r->entries.empty();
      for (const auto& after : w.entries_after)
        a_prefix = a_prefix || after == r->entries;
      RC_ASSERT(a_prefix);
    }
  }
}

// A crash never changes a record's length (it shares the record's first sector with
// the checksum), so a flipped bit there is damage, never a torn write, even in the last
// segment: a longer claim reaching into the zeros past the data looked torn, and the
// log was cut there, losing synced entries (found by raft_sim_test's corruption fault).
TEST(RaftWal, AFlippedLengthBitIsNeverTakenForATornWrite) {
  std::vector<Op> ops;
  for (int i = 0; i < 6; ++i)
    ops.push_back({.index = static_cast<Index>(i + 1), .data = std::string(10 + 7 * i, 'v')});
  ops.push_back({.hard_state = true, .term = 1});
  for (std::size_t preallocate : {std::size_t{0}, std::size_t{4096}}) {
    const Written w = write_log(ops, 100, preallocate);
    for (std::size_t r = 0; r < ops.size(); ++r) {
      const std::size_t start = r == 0 ? 32 : w.record_at[r - 1].second;  // after the header
      for (std::size_t bit = 0; bit < 32; ++bit) {
        std::vector<std::string> files = w.files;
        files[0][start + bit / 8] = static_cast<char>(files[0][start + bit / 8] ^ (1 << (bit % 8)));
        Result<RecoveredWal> got = recover(files);
        EXPECT_EQ(got.status().code(), StatusCode::kDataLoss)
            << "record " << r << ", length bit " << bit << ", preallocated " << preallocate
            << ": recovered " << (got.ok() ? got->entries.size() : 0) << " entries";
      }
    }
  }
}

TEST(RaftWal, AZeroSectorInTheLastSegmentIsATornWriteAndItIsCutThere) {
  std::vector<Op> ops;
  for (int i = 0; i < 40; ++i)
    ops.push_back({.index = static_cast<Index>(i + 1), .data = std::string(60, 'x')});
  Written w = write_log(ops, 100, 0);
  std::string& file = w.files[0];
  ASSERT_GT(file.size(), 3 * kSectorBytes);
  // The second sector never reached the disk.
  std::fill(file.begin() + kSectorBytes, file.begin() + 2 * kSectorBytes, '\0');
  Result<RecoveredWal> r = recover(w.files);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->torn_bytes, 0u);
  EXPECT_LE(r->last_segment_end, kSectorBytes);
  // Every record wholly before the sector survives.
  std::size_t before = 0;
  while (w.record_at[before].second <= kSectorBytes)
    ++before;
  EXPECT_EQ(r->entries, w.entries_after[before - 1]);
}

// A crash cannot tear a record's length (it lies in one sector), so an impossible one
// in the last segment is damage, not a torn write that would silently cut the log.
TEST(RaftWal, AnImpossibleLengthIsDamageEvenInTheLastSegment) {
  std::vector<Op> ops;
  for (int i = 0; i < 4; ++i)
    ops.push_back({.index = static_cast<Index>(i + 1), .data = "v"});
  Written w = write_log(ops, 100, 2048);
  std::string& file = w.files[0];
  const std::size_t second = w.record_at[0].second;  // where the second entry's record starts
  file[second + 3] = '\x7f';                         // its length's high byte
  Result<RecoveredWal> r = recover(w.files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("claims"), std::string::npos) << r.status();
}

TEST(RaftWal, DamageInAClosedSegmentRefusesToStart) {
  std::vector<Op> ops;
  for (int i = 0; i < 10; ++i)
    ops.push_back({.index = static_cast<Index>(i + 1), .data = "v"});
  Written w = write_log(ops, 5, 1024);
  std::vector<std::string> zeroed = w.files;
  std::fill(zeroed[0].begin() + 100, zeroed[0].begin() + 140, '\0');  // a "torn" look
  Result<RecoveredWal> r = recover(zeroed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("WAL segment 0 at offset"), std::string::npos) << r.status();
  // The broken recovery the simulator must catch: the log is cut at the damage, the
  // later segment dropped, and entries that were synced are gone.
  std::vector<SegmentImage> images;
  for (std::size_t i = 0; i < zeroed.size(); ++i)
    images.push_back({i, zeroed[i]});
  Result<RecoveredWal> cut = recover_wal(images, WalMutation::kTruncateOnDamage);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->segments_used, 1u);
  EXPECT_LT(cut->entries.size(), 5u);
}

TEST(RaftWal, AMissingOrForeignSegmentRefusesToStart) {
  std::vector<Op> ops;
  for (int i = 0; i < 9; ++i)
    ops.push_back({.index = static_cast<Index>(i + 1), .data = "v"});
  Written w = write_log(ops, 3, 0);
  ASSERT_EQ(w.files.size(), 3u);
  std::vector<SegmentImage> gap = {{0, w.files[0]}, {2, w.files[2]}};
  Result<RecoveredWal> r = recover_wal(gap);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("are missing"), std::string::npos) << r.status();

  // Segment 1 of another log (another chain) in the place of ours.
  std::vector<Op> other = ops;
  other[0].data = "different";
  Written o = write_log(other, 3, 0);
  r = recover({w.files[0], o.files[1], w.files[2]});
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status();
}

}  // namespace
}  // namespace distkit::raft
