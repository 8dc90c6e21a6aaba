#include "distkit/core/raft/wal_format.h"

#include <boost/crc.hpp>
#include <cstdio>
#include <optional>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

std::size_t padded(std::size_t n) {
  return (n + 7) / 8 * 8;
}

using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// The chain: each record's crc covers the previous record's crc, then its type and
// payload.
// A record's checksum so far: the previous record's, then the type (the payload
// follows).
Crc32c record_crc_start(std::uint32_t chain, std::uint8_t type) {
  Crc32c c;
  unsigned char previous[4];
  for (int i = 0; i < 4; ++i)
    previous[i] = static_cast<unsigned char>((chain >> (8 * i)) & 0xff);
  c.process_bytes(previous, 4);
  c.process_byte(type);
  return c;
}

std::uint32_t record_crc(std::uint32_t chain, std::uint8_t type, std::string_view payload) {
  Crc32c c = record_crc_start(chain, type);
  c.process_bytes(payload.data(), payload.size());
  return c.checksum();
}

bool all_zero(std::string_view b) {
  for (char c : b) {
    if (c != 0) return false;
  }
  return true;
}

// Whether a crash tore the record at [from, to): some 512-byte sector it reaches is
// zero from the record's first byte in it to the sector's end. The disk writes sectors
// whole and the file was zeros past the synced data, so a lost sector leaves that whole
// stretch zero; a bit flip does not (the record's own trailing zeros, such as the high
// bytes of a little-endian field, are followed by the next record's bytes in the same
// sector). Stricter than etcd's isTornEntry, which looks at the record's bytes only.
bool torn_in_a_sector(std::string_view file, std::size_t from, std::size_t to) {
  to = std::min(to, file.size());
  for (std::size_t at = from; at < to;) {
    const std::size_t sector_end = std::min(file.size(), (at / kSectorBytes + 1) * kSectorBytes);
    if (all_zero(file.substr(at, sector_end - at))) return true;
    at = sector_end;
  }
  return false;
}

// Whether the record at `pos`, whose checksum fails at its `claimed` length, is whole
// but for one flipped bit of that length: a payload one bit-flip shorter, followed by
// zero padding, matches the stored checksum. A crash does not do that (it loses whole
// sectors, and a stored checksum that survived with the length matches no other
// payload but by a 2^-32 chance per candidate, of which there are at most 32); a
// flipped bit in the length does, and its claim then reaches into zeros past the data
// like a torn write. Found by the simulator: the log was cut there, losing synced
// entries.
bool whole_but_for_its_length(std::string_view file, std::size_t pos, std::uint32_t chain,
                              std::uint8_t type, std::uint32_t stored_crc, std::uint32_t claimed) {
  const std::size_t start = pos + kRecordHeaderBytes;
  for (int bit = 0; bit < 32; ++bit) {
    const std::uint32_t length = claimed ^ (std::uint32_t{1} << bit);
    if (length >= claimed) continue;  // longer claims are not torn-looking
    const std::size_t end = pos + padded(kRecordHeaderBytes + length);
    if (end > file.size()) continue;
    Crc32c c = record_crc_start(chain, type);
    c.process_bytes(file.data() + start, length);
    if (c.checksum() == stored_crc && all_zero(file.substr(start + length, end - start - length)))
      return true;
  }
  return false;
}

constexpr std::size_t kSegmentHeaderPayload = 8 + 8 + 4;

}  // namespace

void WalEncoder::append(RecordType type, std::string_view payload, std::string& out) {
  const auto t = static_cast<std::uint8_t>(type);
  crc_ = record_crc(crc_, t, payload);
  const std::size_t start = out.size();
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out.push_back(static_cast<char>(t));
  out.append(3, '\0');
  put_u32(out, crc_);
  out += payload;
  out.append(padded(out.size() - start) - (out.size() - start), '\0');
}

void WalEncoder::append_entry(const Entry& entry, std::string& out) {
  std::string payload;
  encode_entry(entry, payload);
  append(RecordType::kEntry, payload, out);
}

void WalEncoder::append_hard_state(const HardState& state, std::string& out) {
  std::string payload;
  encode_hard_state(state, payload);
  append(RecordType::kHardState, payload, out);
}

void WalEncoder::append_snapshot_mark(Index index, Term term, std::string& out) {
  std::string payload;
  put_u64(payload, index);
  put_u64(payload, term);
  append(RecordType::kSnapshotMark, payload, out);
}

void WalEncoder::append_segment_header(std::uint64_t seq, Index first_index, std::string& out) {
  std::string payload;
  put_u64(payload, seq);
  put_u64(payload, first_index);
  put_u32(payload, crc_);
  append(RecordType::kSegmentHeader, payload, out);
}

std::string segment_file_name(std::uint64_t seq, Index first_index) {
  char name[64];
  std::snprintf(name, sizeof name, "wal-%016llx-%016llx.log", static_cast<unsigned long long>(seq),
                static_cast<unsigned long long>(first_index));
  return name;
}

Result<SegmentName> parse_segment_file_name(std::string_view name) {
  const auto hex = [](std::string_view s, std::uint64_t& v) {
    if (s.size() != 16) return false;
    v = 0;
    for (char c : s) {
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return false;
      }
      v = v << 4 | static_cast<std::uint64_t>(d);
    }
    return true;
  };
  SegmentName out;
  if (name.size() != 4 + 16 + 1 + 16 + 4 || name.substr(0, 4) != "wal-" || name[20] != '-' ||
      name.substr(37) != ".log" || !hex(name.substr(4, 16), out.seq) ||
      !hex(name.substr(21, 16), out.first_index))
    return invalid_argument_error("not a WAL segment's name: '" + std::string(name) + "'");
  return out;
}

Result<RecoveredWal> recover_wal(std::span<const SegmentImage> segments, WalMutation mutation) {
  RecoveredWal out;
  out.segments_used = segments.size();
  std::uint32_t crc = 0;
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const SegmentImage& seg = segments[k];
    const std::string_view file = seg.bytes;
    bool last = k + 1 == segments.size();
    const std::string where = "WAL segment " + std::to_string(seg.seq);
    if (k > 0 && seg.seq != segments[k - 1].seq + 1)
      return data_loss_error(where + " follows segment " + std::to_string(segments[k - 1].seq) +
                             ": the segments between are missing");
    std::size_t pos = 0;
    // Returns the error to report, or nullopt when the rest of the last segment is a
    // torn write (then recovery stops here).
    const auto bad = [&](const std::string& what, bool torn) -> std::optional<Status> {
      if (mutation == WalMutation::kTruncateOnDamage && !(last && torn)) {
        out.segments_used = k + 1;
        last = true;
        torn = true;
      }
      if (last && torn) {
        std::size_t end = file.size();
        while (end > pos && file[end - 1] == 0)
          --end;
        out.torn_bytes = end - pos;
        return std::nullopt;
      }
      return data_loss_error(where + " at offset " + std::to_string(pos) + ": " + what);
    };
    bool stop = false;
    bool first = true;
    Index expect_mark = 0;  // the header's first index - 1, when it skips ahead
    while (!stop) {
      if (file.size() - pos < kRecordHeaderBytes) {
        if (all_zero(file.substr(pos))) break;
        if (auto e = bad("a record header cut short", true)) return *e;
        stop = true;
        break;
      }
      const std::uint32_t length = get_u32(file, pos);
      const auto type = static_cast<std::uint8_t>(file[pos + 4]);
      const std::uint32_t stored_crc = get_u32(file, pos + 8);
      if (length == 0 && type == 0 && stored_crc == 0 && all_zero(file.substr(pos + 5, 3))) {
        // The end of the data. A closed segment was synced whole before the next one
        // began, so anything after its end is damage; in the last it is a torn write.
        if (!all_zero(file.substr(pos))) {
          if (auto e = bad("bytes after the end of the data", true)) return *e;
        }
        break;
      }
      const std::size_t frame = padded(kRecordHeaderBytes + static_cast<std::size_t>(length));
      if (length > kMaxMessageBytes) {
        // The length sits in the first 8 bytes of an aligned record, inside one sector:
        // a crash cannot tear it, so an impossible one is damage.
        if (auto e = bad("a record claims " + std::to_string(length) + " bytes", false)) return *e;
        break;
      }
      if (frame > file.size() - pos) {
        if (auto e = bad("a record of " + std::to_string(length) + " bytes runs past the end",
                         !whole_but_for_its_length(file, pos, crc, type, stored_crc, length)))
          return *e;
        break;
      }
      const std::string_view payload = file.substr(pos + kRecordHeaderBytes, length);
      const bool torn = torn_in_a_sector(file, pos, pos + kRecordHeaderBytes + length);
      if (first) {
        if (type != static_cast<std::uint8_t>(RecordType::kSegmentHeader) ||
            length != kSegmentHeaderPayload) {
          if (auto e = bad("the segment does not begin with its header", torn)) return *e;
          break;
        }
        // The header carries the chain's crc before it: the first segment starts the
        // chain there; each later one must continue it (checked below).
        if (k == 0) crc = get_u32(payload, 16);
      }
      if (record_crc(crc, type, payload) != stored_crc || !all_zero(file.substr(pos + 5, 3)) ||
          !all_zero(file.substr(pos + kRecordHeaderBytes + length,
                                frame - kRecordHeaderBytes - length))) {
        if (auto e =
                bad("a record's checksum does not match",
                    torn && !whole_but_for_its_length(file, pos, crc, type, stored_crc, length)))
          return *e;
        break;
      }
      if (first) {
        if (get_u32(payload, 16) != crc || get_u64(payload, 0) != seg.seq)
          return data_loss_error(where + " does not continue the log: its header names segment " +
                                 std::to_string(get_u64(payload, 0)) + " of another chain");
        const Index first_index = get_u64(payload, 8);
        if (k == 0 && first_index > 0) out.base = first_index - 1;  // compacted before
        if (first_index == 0) return data_loss_error(where + " begins at index 0");
        // Past the log before it only when it begins with a snapshot mark that voids
        // that log (the segments before were being removed).
        if (first_index > out.base + out.entries.size() + 1) expect_mark = first_index - 1;
      } else {
        // A segment that skips ahead must continue with the mark (after the hard state
        // every segment begins with).
        if (expect_mark != 0 && static_cast<RecordType>(type) != RecordType::kHardState) {
          if (static_cast<RecordType>(type) != RecordType::kSnapshotMark || payload.size() != 16 ||
              get_u64(payload, 0) != expect_mark)
            return data_loss_error(where + " begins at index " + std::to_string(expect_mark + 1) +
                                   ", but the log before it ends at " +
                                   std::to_string(out.base + out.entries.size()));
          expect_mark = 0;
        }
        switch (static_cast<RecordType>(type)) {
          case RecordType::kEntry: {
            Result<Entry> e = decode_entry(payload);
            if (!e.ok())
              return data_loss_error(where + " at offset " + std::to_string(pos) + ": " +
                                     e.status().message());
            if (e->index <= out.base && e->index > 0 && !out.base_is_mark) {
              // The first segment begins past where a later write replaced the log's
              // suffix (the segments before were compacted away): the log restarts there.
              out.base = e->index - 1;
              out.entries.clear();
            }
            if (e->index <= out.base || e->index > out.base + out.entries.size() + 1)
              return data_loss_error(where + " at offset " + std::to_string(pos) + ": entry " +
                                     std::to_string(e->index) + " after entry " +
                                     std::to_string(out.base + out.entries.size()));
            out.entries.resize(e->index - out.base - 1);  // replaces the suffix from its index
            out.entries.push_back(std::move(*e));
            break;
          }
          case RecordType::kSnapshotMark: {
            if (payload.size() != 16)
              return data_loss_error(where + " at offset " + std::to_string(pos) +
                                     ": a snapshot mark of " + std::to_string(payload.size()) +
                                     " bytes");
            out.base = get_u64(payload, 0);
            out.base_term = get_u64(payload, 8);
            out.base_is_mark = true;
            out.entries.clear();
            break;
          }
          case RecordType::kHardState: {
            Result<HardState> h = decode_hard_state(payload);
            if (!h.ok())
              return data_loss_error(where + " at offset " + std::to_string(pos) + ": " +
                                     h.status().message());
            out.hard_state = *h;
            break;
          }
          default:
            return data_loss_error(where + " at offset " + std::to_string(pos) +
                                   ": unexpected record type " + std::to_string(type));
        }
      }
      crc = stored_crc;
      pos += frame;
      first = false;
    }
    if (last) {
      out.last_segment_end = pos;
      break;
    }
  }
  out.chain_crc = crc;
  return out;
}

}  // namespace distkit::raft
