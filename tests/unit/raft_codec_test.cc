// The Raft codec: every value round-trips; every truncation, every single bit flip and
// every lie about a length is a clean kProtocolError or another valid value, never a
// crash (the asan and ubsan configs run this too).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

rc::Gen<Entry> gen_entry() {
  return rc::gen::build<Entry>(
      rc::gen::set(&Entry::term, rc::gen::arbitrary<Term>()),
      rc::gen::set(&Entry::index, rc::gen::arbitrary<Index>()),
      rc::gen::set(&Entry::type, rc::gen::element(EntryType::kNormal, EntryType::kNoOp)),
      rc::gen::set(&Entry::data, rc::gen::arbitrary<std::string>()));
}

rc::Gen<Message> gen_message() {
  return rc::gen::build<Message>(
      rc::gen::set(&Message::type, rc::gen::map(rc::gen::inRange(0, 8),
                                                [](int t) { return static_cast<MessageType>(t); })),
      rc::gen::set(&Message::from, rc::gen::arbitrary<NodeId>()),
      rc::gen::set(&Message::to, rc::gen::arbitrary<NodeId>()),
      rc::gen::set(&Message::term, rc::gen::arbitrary<Term>()),
      rc::gen::set(&Message::log_term, rc::gen::arbitrary<Term>()),
      rc::gen::set(&Message::index, rc::gen::arbitrary<Index>()),
      rc::gen::set(&Message::entries, rc::gen::container<std::vector<Entry>>(gen_entry())),
      rc::gen::set(&Message::commit, rc::gen::arbitrary<Index>()),
      rc::gen::set(&Message::reject, rc::gen::arbitrary<bool>()),
      rc::gen::set(&Message::reject_hint, rc::gen::arbitrary<Index>()),
      rc::gen::set(&Message::context, rc::gen::arbitrary<std::uint64_t>()));
}

RC_GTEST_PROP(RaftCodec, EveryMessageRoundTrips, ()) {
  const Message m = *gen_message();
  Result<Message> back = decode_message(encode_message(m));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == m);
}

// (Small messages for the byte-by-byte properties: every cut costs a decode.)
RC_GTEST_PROP(RaftCodec, EveryTruncationIsAProtocolError, ()) {
  const std::string bytes = encode_message(*rc::gen::resize(8, gen_message()));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Result<Message> r = decode_message(std::string_view(bytes).substr(0, n));
    RC_ASSERT(!r.ok());
    RC_ASSERT(r.status().code() == StatusCode::kProtocolError);
  }
  Result<Message> longer = decode_message(bytes + "x");
  RC_ASSERT(longer.status().code() == StatusCode::kProtocolError);
}

// A flipped bit either is refused or gives a value that encodes back to exactly the
// flipped bytes: decoding is the inverse of encoding wherever it succeeds.
RC_GTEST_PROP(RaftCodec, EveryBitFlipIsRefusedOrAnotherValidMessage, ()) {
  const std::string bytes = encode_message(*rc::gen::resize(4, gen_message()));
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    Result<Message> r = decode_message(flipped);
    if (r.ok()) {
      RC_ASSERT(encode_message(*r) == flipped);
    } else {
      RC_ASSERT(r.status().code() == StatusCode::kProtocolError);
    }
  }
}

TEST(RaftCodec, LiesAboutLengthsAreRefusedBeforeAllocating) {
  Message m{.type = MessageType::kAppend, .from = 1, .to = 2, .term = 3};
  std::string bytes = encode_message(m);
  // The entry count is the four bytes before the (empty) data's length: claim 2^32 - 1.
  for (std::size_t i = bytes.size() - 8; i < bytes.size() - 4; ++i)
    bytes[i] = '\xff';
  Result<Message> r = decode_message(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("claims 4294967295 entries"), std::string::npos)
      << r.status();

  m.entries.push_back(Entry{.term = 3, .index = 1, .data = "abc"});
  bytes = encode_message(m);
  // The entry's data length (before its 3 data bytes and the message's data length):
  // claim 2^32 - 1.
  for (std::size_t i = bytes.size() - 11; i < bytes.size() - 7; ++i)
    bytes[i] = '\xff';
  r = decode_message(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("claims 4294967295 bytes"), std::string::npos) << r.status();
}

TEST(RaftCodec, UnknownVersionsTypesAndFlagsAreNamed) {
  std::string bytes = encode_message(Message{.type = MessageType::kVote, .from = 1, .to = 2});
  std::string v = bytes;
  v[0] = 1;
  EXPECT_NE(decode_message(v).status().message().find("version 1 is not supported"),
            std::string::npos);
  std::string t = bytes;
  t[1] = 11;
  EXPECT_NE(decode_message(t).status().message().find("unknown message type 11"),
            std::string::npos);
  std::string f = bytes;
  f[f.size() - 9] = 4;
  EXPECT_NE(decode_message(f).status().message().find("unknown flags 4"), std::string::npos);
  EXPECT_NE(decode_message(bytes, 10).status().message().find("past the limit of 10"),
            std::string::npos);
}

TEST(RaftCodec, EntriesAndHardStatesRoundTripAndRefuseTrailingBytes) {
  const Entry e{.term = 7, .index = 9, .type = EntryType::kNoOp, .data = std::string("\0x", 2)};
  std::string bytes;
  encode_entry(e, bytes);
  EXPECT_EQ(*decode_entry(bytes), e);
  EXPECT_FALSE(decode_entry(bytes + "z").ok());
  const HardState h{.term = 5, .vote = 3, .commit = 11};
  std::string hb;
  encode_hard_state(h, hb);
  EXPECT_EQ(*decode_hard_state(hb), h);
  EXPECT_FALSE(decode_hard_state(hb.substr(1)).ok());
}

TEST(RaftCodec, TheLayoutIsLittleEndianAndFixed) {
  // Pinned bytes: a change of layout must change kCodecVersion.
  const std::string bytes = encode_message(
      Message{.type = MessageType::kHeartbeat, .from = 1, .to = 0x0203, .term = 4, .commit = 5});
  const std::string want = std::string("\x03\x06", 2) + std::string("\x01\0\0\0\0\0\0\0", 8) +
                           std::string("\x03\x02\0\0\0\0\0\0", 8) +
                           std::string("\x04\0\0\0\0\0\0\0", 8) + std::string(8, '\0') +
                           std::string(8, '\0') + std::string("\x05\0\0\0\0\0\0\0", 8) +
                           std::string(8, '\0') + std::string(8, '\0') + std::string(1, '\0') +
                           std::string(4, '\0') + std::string(4, '\0');
  EXPECT_EQ(bytes, want);
}

TEST(RaftCodec, SnapshotChunksRoundTrip) {
  const Message m{.type = MessageType::kSnapshot,
                  .from = 1,
                  .to = 2,
                  .term = 4,
                  .log_term = 3,
                  .index = 90,
                  .context = 4096,
                  .data = std::string("chunk\0bytes", 11),
                  .done = true};
  EXPECT_EQ(*decode_message(encode_message(m)), m);
  std::string cut = encode_message(m);
  cut.pop_back();
  EXPECT_FALSE(decode_message(cut).ok());
}

TEST(RaftCodec, SnapshotsRoundTripAndEveryDamageIsDataLoss) {
  const Snapshot s{.metadata = {.index = 42, .term = 7, .voters = {1, 2, 3}},
                   .data = std::string("state\0machine", 13)};
  const std::string bytes = encode_snapshot(s);
  EXPECT_EQ(*decode_snapshot(bytes), s);
  // Any flipped bit, any cut: refused, never a wrong snapshot.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    Result<Snapshot> r = decode_snapshot(flipped);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  }
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_snapshot(bytes.substr(0, n)).ok()) << n;
  EXPECT_FALSE(decode_snapshot(bytes + "x").ok());
}

}  // namespace
}  // namespace distkit::raft
