// Raft's values as bytes: messages between members, and the entries and hard state the
// write-ahead log stores. Fixed-width little-endian fields behind a version byte;
// decoding checks every length against what is left, so truncated, oversized or
// garbled input is a kProtocolError, never a crash or a huge allocation.
//
// Message layout (version 2; version 1 had no context):
//   u8 version | u8 type | u64 from | u64 to | u64 term | u64 log_term | u64 index
//   | u64 commit | u64 reject_hint | u64 context | u8 flags (bit 0: reject)
//   | u32 entry count | entries
// Entry: u64 term | u64 index | u8 type | u32 data length | data
// Hard state: u64 term | u64 vote | u64 commit
#ifndef DISTKIT_CORE_RAFT_CODEC_H_
#define DISTKIT_CORE_RAFT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft {

inline constexpr std::uint8_t kCodecVersion = 2;
// The largest encoded message decode_message accepts by default (and a single entry's
// data can never be larger).
inline constexpr std::size_t kMaxMessageBytes = 16 << 20;

// Fixed-width little-endian integers, shared with the WAL's framing. The getters
// REQUIRE `at + width <= bytes.size()` (the callers check lengths first).
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
[[nodiscard]] std::uint32_t get_u32(std::string_view bytes, std::size_t at);
[[nodiscard]] std::uint64_t get_u64(std::string_view bytes, std::size_t at);

// Appends the encoding to `out`.
void encode_message(const Message& message, std::string& out);
void encode_entry(const Entry& entry, std::string& out);
void encode_hard_state(const HardState& state, std::string& out);

[[nodiscard]] std::string encode_message(const Message& message);

// The whole of `bytes` must be one value: trailing bytes are an error too.
[[nodiscard]] Result<Message> decode_message(std::string_view bytes,
                                             std::size_t max_bytes = kMaxMessageBytes);
[[nodiscard]] Result<Entry> decode_entry(std::string_view bytes);
[[nodiscard]] Result<HardState> decode_hard_state(std::string_view bytes);

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_CODEC_H_
