// The write-ahead log's bytes, without files: how records are framed and chained, and
// how a log is recovered from the images of its segment files. The driver (the storage
// seam) writes what the encoder produces and hands recovery what it reads back; this
// part decides, so it is tested on every cut and every flipped bit.
//
// A log is a sequence of segments (files "wal-<seq>-<first index>.log", hex). Each is
// preallocated with zeros and holds 8-byte aligned records:
//   u32 payload length | u8 type | 3 zero bytes | u32 crc | payload | zeros to 8 bytes
// `crc` is CRC-32C over (the previous record's crc, type, payload), across segments: a
// record can only be read in its place in the chain. The first record of a
// segment is its header (seq, first index, the chain's crc before it). Entry records
// hold a codec entry; an entry at index i replaces every entry >= i (the log is
// append-only on disk; a conflicting suffix is replaced logically). Hard-state records
// hold the latest hard state. A snapshot mark (index, term) voids every entry before
// it: the log continues after a snapshot received from the leader. Compaction removes
// whole segments from the front, so the first segment may begin past index 1.
//
// Recovery:
// - Valid data ends at a zero header. In the last segment, a record that is cut short,
//   or whose checksum fails where a 512-byte sector it reaches is zero from the
//   record's first byte in it to the sector's end, is a torn write the crash
//   interrupted: it and everything after it are discarded (the driver
//   truncates the file there) and were never acknowledged (acknowledgements wait for
//   sync).
// - Any other bad record (a checksum failure in a closed segment, or with every sector
//   written; an impossible length), a missing or misnumbered segment, or a broken chain
//   is kDataLoss: the log refuses to start rather than drop what may have been
//   acknowledged. One case stays ambiguous, as in etcd: damage to the log's last record
//   when nothing follows it in its last sector reads as a torn write.
#ifndef DISTKIT_CORE_RAFT_WAL_FORMAT_H_
#define DISTKIT_CORE_RAFT_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft {

enum class RecordType : std::uint8_t {
  kSegmentHeader = 1,
  kEntry = 2,
  kHardState = 3,
  kSnapshotMark = 4,
};

inline constexpr std::size_t kRecordHeaderBytes = 12;
inline constexpr std::size_t kSectorBytes = 512;

// Frames records and keeps the chain's crc.
class WalEncoder {
 public:
  explicit WalEncoder(std::uint32_t chain_crc = 0) : crc_(chain_crc) {}
  // Appends one framed record to `out`.
  void append(RecordType type, std::string_view payload, std::string& out);
  void append_entry(const Entry& entry, std::string& out);
  void append_hard_state(const HardState& state, std::string& out);
  void append_snapshot_mark(Index index, Term term, std::string& out);
  // A new segment's first record.
  void append_segment_header(std::uint64_t seq, Index first_index, std::string& out);
  [[nodiscard]] std::uint32_t chain_crc() const { return crc_; }

 private:
  std::uint32_t crc_;
};

// "wal-000000000000002a-0000000000000401.log" and back.
[[nodiscard]] std::string segment_file_name(std::uint64_t seq, Index first_index);
struct SegmentName {
  std::uint64_t seq = 0;
  Index first_index = 0;
};
// kInvalidArgument for a name that is not a segment's.
[[nodiscard]] Result<SegmentName> parse_segment_file_name(std::string_view name);

struct SegmentImage {
  std::uint64_t seq = 0;
  std::string_view bytes;  // the whole file
};

struct RecoveredWal {
  HardState hard_state;
  // The entries begin after `base`: the last snapshot mark's index (then `base_term` is
  // its term), or where the first segment begins (compacted before; term unknown).
  Index base = 0;
  Term base_term = 0;
  bool base_is_mark = false;
  std::vector<Entry> entries;  // base + 1 ..., contiguous
  // The last segment's valid bytes: appending continues here (after truncating any
  // torn tail), with chain_crc. 0 when not even its header is whole: the driver writes
  // the header again.
  std::size_t last_segment_end = 0;
  std::uint32_t chain_crc = 0;
  // Bytes discarded from the last segment as a torn write (0 if none).
  std::size_t torn_bytes = 0;
  // The segments recovered: all of them, but for WalMutation::kTruncateOnDamage, which
  // drops those after the damaged one (last_segment_end is then the damaged one's).
  std::size_t segments_used = 0;
};

// A deliberately broken recovery, for proving that the tests catch it. Never set
// outside tests.
enum class WalMutation : std::uint8_t {
  kNone,
  // Any damage is taken for a torn tail: the log is cut there (with every later
  // segment) instead of refusing to start. Loses synced, acknowledged entries.
  kTruncateOnDamage,
};

// `segments` in file order (seq ascending). An empty list is an empty log.
[[nodiscard]] Result<RecoveredWal> recover_wal(std::span<const SegmentImage> segments,
                                               WalMutation mutation = WalMutation::kNone);

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_WAL_FORMAT_H_
