#include "distkit/core/raft/codec.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace distkit::raft {
namespace {

constexpr std::size_t kEntryHeaderBytes = 8 + 8 + 1 + 4;

Status truncated(std::string_view what) {
  return protocol_error("raft codec: " + std::string(what) + " is truncated");
}

std::optional<Status> read_entry(ByteReader& r, Entry& e) {
  std::uint8_t type = 0;
  std::uint32_t length = 0;
  if (!r.u64(e.term) || !r.u64(e.index) || !r.u8(type) || !r.u32(length))
    return truncated("an entry's header");
  if (type > static_cast<std::uint8_t>(EntryType::kConfChange))
    return protocol_error("raft codec: unknown entry type " + std::to_string(type));
  e.type = static_cast<EntryType>(type);
  if (length > r.left())
    return protocol_error("raft codec: an entry claims " + std::to_string(length) +
                          " bytes of data, " + std::to_string(r.left()) + " are left");
  if (!r.bytes(length, e.data)) return truncated("an entry's data");
  return std::nullopt;
}

constexpr std::uint32_t kSnapshotMagic = 0x4e53'4b44;  // "DKSN" little-endian
constexpr std::uint8_t kSnapshotVersion = 1;

}  // namespace

void encode_entry(const Entry& e, std::string& out) {
  put_u64(out, e.term);
  put_u64(out, e.index);
  put_u8(out, static_cast<std::uint8_t>(e.type));
  put_u32(out, static_cast<std::uint32_t>(e.data.size()));
  out += e.data;
}

void encode_hard_state(const HardState& s, std::string& out) {
  put_u64(out, s.term);
  put_u64(out, s.vote);
  put_u64(out, s.commit);
}

void encode_message(const Message& m, std::string& out) {
  put_u8(out, kCodecVersion);
  put_u8(out, static_cast<std::uint8_t>(m.type));
  put_u64(out, m.from);
  put_u64(out, m.to);
  put_u64(out, m.term);
  put_u64(out, m.log_term);
  put_u64(out, m.index);
  put_u64(out, m.commit);
  put_u64(out, m.reject_hint);
  put_u64(out, m.context);
  put_u8(out, static_cast<std::uint8_t>((m.reject ? 1 : 0) | (m.done ? 2 : 0)));
  put_u32(out, static_cast<std::uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries)
    encode_entry(e, out);
  put_sized(out, m.data);
}

std::string encode_message(const Message& m) {
  std::string out;
  encode_message(m, out);
  return out;
}

Result<Message> decode_message(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes)
    return protocol_error("raft codec: a message of " + std::to_string(bytes.size()) +
                          " bytes is past the limit of " + std::to_string(max_bytes));
  ByteReader r(bytes);
  std::uint8_t version = 0, type = 0, flags = 0;
  if (!r.u8(version)) return truncated("a message");
  if (version != kCodecVersion)
    return protocol_error("raft codec: message version " + std::to_string(version) +
                          " is not supported (this build reads version " +
                          std::to_string(kCodecVersion) + ")");
  Message m;
  std::uint32_t count = 0;
  if (!r.u8(type) || !r.u64(m.from) || !r.u64(m.to) || !r.u64(m.term) || !r.u64(m.log_term) ||
      !r.u64(m.index) || !r.u64(m.commit) || !r.u64(m.reject_hint) || !r.u64(m.context) ||
      !r.u8(flags) || !r.u32(count))
    return truncated("a message's header");
  if (type > static_cast<std::uint8_t>(MessageType::kSnapshotResponse))
    return protocol_error("raft codec: unknown message type " + std::to_string(type));
  if (flags > 3) return protocol_error("raft codec: unknown flags " + std::to_string(flags));
  m.type = static_cast<MessageType>(type);
  m.reject = (flags & 1) != 0;
  m.done = (flags & 2) != 0;
  // Each entry takes at least its header: a count that cannot fit is refused before
  // anything is allocated for it.
  if (count > r.left() / kEntryHeaderBytes)
    return protocol_error("raft codec: a message claims " + std::to_string(count) + " entries in " +
                          std::to_string(r.left()) + " bytes");
  m.entries.resize(count);
  for (Entry& e : m.entries) {
    if (std::optional<Status> error = read_entry(r, e)) return *error;
  }
  if (!r.sized(m.data)) return truncated("a message's data");
  if (r.left() != 0)
    return protocol_error("raft codec: " + std::to_string(r.left()) + " bytes after the message");
  return m;
}

Result<Entry> decode_entry(std::string_view bytes) {
  ByteReader r(bytes);
  Entry e;
  if (std::optional<Status> error = read_entry(r, e)) return *error;
  if (r.left() != 0)
    return protocol_error("raft codec: " + std::to_string(r.left()) + " bytes after the entry");
  return e;
}

Result<HardState> decode_hard_state(std::string_view bytes) {
  ByteReader r(bytes);
  HardState s;
  if (!r.u64(s.term) || !r.u64(s.vote) || !r.u64(s.commit)) return truncated("a hard state");
  if (r.left() != 0)
    return protocol_error("raft codec: " + std::to_string(r.left()) +
                          " bytes after the hard state");
  return s;
}

bool ConfState::is_voter(NodeId id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}
bool ConfState::is_learner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

std::string encode_conf_change(const ConfChange& change) {
  std::string out;
  put_u8(out, static_cast<std::uint8_t>(change.type));
  put_u64(out, change.node);
  return out;
}

Result<ConfChange> decode_conf_change(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t type = 0;
  ConfChange c;
  if (!r.u8(type) || !r.u64(c.node) || r.left() != 0)
    return protocol_error("raft: a membership change is 9 bytes");
  if (type < static_cast<std::uint8_t>(ConfChangeType::kAddLearner) ||
      type > static_cast<std::uint8_t>(ConfChangeType::kRemove))
    return protocol_error("raft: unknown membership change " + std::to_string(type));
  c.type = static_cast<ConfChangeType>(type);
  return c;
}

Status apply_conf_change(ConfState& conf, const ConfChange& change) {
  const NodeId n = change.node;
  const std::string who = "member " + std::to_string(n);
  if (n == kNobody) return invalid_argument_error("raft: a membership change of node 0");
  const auto insert = [](std::vector<NodeId>& v, NodeId id) {
    v.insert(std::upper_bound(v.begin(), v.end(), id), id);
  };
  const auto erase = [](std::vector<NodeId>& v, NodeId id) {
    v.erase(std::remove(v.begin(), v.end(), id), v.end());
  };
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (conf.is_member(n)) return invalid_argument_error("raft: " + who + " is already in");
      insert(conf.learners, n);
      return Status();
    case ConfChangeType::kPromote:
      if (!conf.is_learner(n))
        return invalid_argument_error("raft: " + who + " is not a learner to promote");
      erase(conf.learners, n);
      insert(conf.voters, n);
      return Status();
    case ConfChangeType::kRemove:
      if (!conf.is_member(n)) return invalid_argument_error("raft: " + who + " is not in");
      if (conf.voters.size() == 1 && conf.is_voter(n))
        return invalid_argument_error("raft: " + who + " is the last voter");
      erase(conf.voters, n);
      erase(conf.learners, n);
      return Status();
  }
  return invalid_argument_error("raft: unknown membership change");
}

std::string encode_snapshot(const Snapshot& snapshot) {
  std::string body;
  body.reserve(8 + 8 + 4 + 8 * snapshot.metadata.voters.size() + 8 + snapshot.data.size());
  put_u64(body, snapshot.metadata.index);
  put_u64(body, snapshot.metadata.term);
  put_u32(body, static_cast<std::uint32_t>(snapshot.metadata.voters.size()));
  for (NodeId v : snapshot.metadata.voters)
    put_u64(body, v);
  put_u32(body, static_cast<std::uint32_t>(snapshot.metadata.learners.size()));
  for (NodeId l : snapshot.metadata.learners)
    put_u64(body, l);
  put_u64(body, snapshot.data.size());
  body += snapshot.data;
  std::string out;
  out.reserve(9 + body.size());
  put_u32(out, kSnapshotMagic);
  put_u8(out, kSnapshotVersion);
  put_u32(out, crc32c(body));
  out += body;
  return out;
}

Result<Snapshot> decode_snapshot(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint32_t magic = 0, crc = 0, voters = 0;
  std::uint8_t version = 0;
  if (!r.u32(magic) || magic != kSnapshotMagic)
    return data_loss_error("raft snapshot: not a snapshot (bad magic)");
  if (!r.u8(version) || version != kSnapshotVersion)
    return data_loss_error("raft snapshot: version " + std::to_string(version) +
                           " is not supported (this build reads version 1)");
  if (!r.u32(crc)) return data_loss_error("raft snapshot: truncated header");
  const std::string_view body = bytes.substr(9);
  if (crc32c(body) != crc) return data_loss_error("raft snapshot: the checksum does not match");
  Snapshot s;
  std::uint64_t length = 0;
  if (!r.u64(s.metadata.index) || !r.u64(s.metadata.term) || !r.u32(voters) ||
      voters > r.left() / 8)
    return data_loss_error("raft snapshot: truncated metadata");
  s.metadata.voters.resize(voters);
  for (NodeId& v : s.metadata.voters) {
    if (!r.u64(v)) return data_loss_error("raft snapshot: truncated voters");
  }
  std::uint32_t learners = 0;
  if (!r.u32(learners) || learners > r.left() / 8)
    return data_loss_error("raft snapshot: truncated learners");
  s.metadata.learners.resize(learners);
  for (NodeId& l : s.metadata.learners) {
    if (!r.u64(l)) return data_loss_error("raft snapshot: truncated learners");
  }
  if (!r.u64(length) || length != r.left() || !r.bytes(length, s.data))
    return data_loss_error("raft snapshot: the data's length does not match");
  if (s.metadata.index == 0 || s.metadata.term == 0)
    return data_loss_error("raft snapshot: index and term must be positive");
  return s;
}

}  // namespace distkit::raft
