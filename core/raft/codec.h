// Raft's values as bytes: messages between members, and the entries and hard state the
// write-ahead log stores. Fixed-width little-endian fields behind a version byte;
// decoding checks every length against what is left, so truncated, oversized or
// garbled input is a kProtocolError, never a crash or a huge allocation.
//
// Message layout (version 3; version 2 had no data, version 1 no context):
//   u8 version | u8 type | u64 from | u64 to | u64 term | u64 log_term | u64 index
//   | u64 commit | u64 reject_hint | u64 context | u8 flags (bit 0: reject, 1: done)
//   | u32 entry count | entries | u32 data length | data
// Entry: u64 term | u64 index | u8 type | u32 data length | data
// Hard state: u64 term | u64 vote | u64 commit
// Snapshot (a file, and the bytes a leader sends in chunks), checksummed because it
// travels and rests whole:
//   u32 magic "DKSN" | u8 version 1 | u32 crc32c of what follows | u64 index | u64 term
//   | u32 voter count | u64 voters | u32 learner count | u64 learners | u64 data length
//   | data
// Membership change (a kConfChange entry's data): u8 type | u64 node
#ifndef DISTKIT_CORE_RAFT_CODEC_H_
#define DISTKIT_CORE_RAFT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "distkit/core/base/bytes.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft {

inline constexpr std::uint8_t kCodecVersion = 3;
// The largest encoded message decode_message accepts by default (and a single entry's
// data can never be larger).
inline constexpr std::size_t kMaxMessageBytes = 16 << 20;

// Appends the encoding to `out`.
void encode_message(const Message& message, std::string& out);
void encode_entry(const Entry& entry, std::string& out);
void encode_hard_state(const HardState& state, std::string& out);

[[nodiscard]] std::string encode_message(const Message& message);
[[nodiscard]] std::string encode_snapshot(const Snapshot& snapshot);
[[nodiscard]] std::string encode_conf_change(const ConfChange& change);

// The whole of `bytes` must be one value: trailing bytes are an error too.
[[nodiscard]] Result<Message> decode_message(std::string_view bytes,
                                             std::size_t max_bytes = kMaxMessageBytes);
[[nodiscard]] Result<Entry> decode_entry(std::string_view bytes);
[[nodiscard]] Result<HardState> decode_hard_state(std::string_view bytes);
// kDataLoss for a snapshot whose checksum fails or whose fields do not parse.
[[nodiscard]] Result<Snapshot> decode_snapshot(std::string_view bytes);
// kProtocolError for bytes that are not one change.
[[nodiscard]] Result<ConfChange> decode_conf_change(std::string_view bytes);
// The members after `change`; kInvalidArgument (and `conf` unchanged) when it does not
// apply: adding a member, promoting a non-learner, removing a non-member or the last
// voter, node 0.
[[nodiscard]] Status apply_conf_change(ConfState& conf, const ConfChange& change);

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_CODEC_H_
