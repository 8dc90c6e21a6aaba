// The peer streams' bytes (core/peer/frames.h): what is sent is what is delivered, in
// any pieces; damage, strangers, other clusters and oversized frames are refused, and
// a damaged stream never delivers a payload that was not sent.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "distkit/core/base/bytes.h"
#include "distkit/core/peer/frames.h"

namespace distkit::peer {
namespace {

constexpr std::uint64_t kCluster = 0xC1;

std::string stream_of(const Hello& hello, const std::vector<std::string>& payloads) {
  std::string out = encode_hello(hello);
  for (const std::string& p : payloads)
    encode_frame(p, out);
  return out;
}

// Feeds `bytes` in pieces cut at `cuts` (offsets, any order); stops at the first error.
Status feed_in_pieces(StreamDecoder& d, const std::string& bytes, std::vector<std::size_t> cuts,
                      std::vector<std::string>& out) {
  cuts.push_back(bytes.size());
  std::sort(cuts.begin(), cuts.end());
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    cut = std::min(cut, bytes.size());
    if (cut < from) continue;
    if (Status s = d.feed(std::string_view(bytes).substr(from, cut - from), out); !s.ok()) return s;
    from = cut;
  }
  return Status();
}

RC_GTEST_PROP(PeerFrames, WhatIsSentIsDeliveredInAnyPieces, ()) {
  const auto node = *rc::gen::inRange<NodeId>(1, 1000);
  const auto payloads =
      *rc::gen::container<std::vector<std::string>>(rc::gen::string<std::string>());
  const std::string bytes = stream_of({.cluster = kCluster, .node = node}, payloads);
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(
      rc::gen::inRange<std::size_t>(0, bytes.size() + 1));
  StreamDecoder d(kCluster, 1 << 20);
  std::vector<std::string> got;
  RC_ASSERT(feed_in_pieces(d, bytes, cuts, got).ok());
  RC_ASSERT(got == payloads);
  RC_ASSERT((d.hello() == Hello{.cluster = kCluster, .node = node}));
  RC_ASSERT(d.buffered() == 0u);
}

// Any flipped bit: an error, or (a longer length waiting for bytes that never come)
// silence; never a payload that was not sent, and never one out of order.
RC_GTEST_PROP(PeerFrames, AFlippedBitNeverDeliversADifferentPayload, ()) {
  // Small: every bit of the stream is flipped in turn.
  const auto payloads =
      *rc::gen::resize(12, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
                               rc::gen::nonEmpty(rc::gen::string<std::string>()))));
  const std::string sent = stream_of({.cluster = kCluster, .node = 7}, payloads);
  for (std::size_t bit = 0; bit < sent.size() * 8; ++bit) {
    std::string bytes = sent;
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    StreamDecoder d(kCluster, 1 << 20);
    std::vector<std::string> got;
    const Status s = d.feed(bytes, got);
    RC_ASSERT(got.size() <= payloads.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      RC_ASSERT(got[i] == payloads[i]);
    if (s.ok()) RC_ASSERT(got.size() < payloads.size());  // something was held back
    if (!s.ok()) RC_ASSERT(s.code() == StatusCode::kProtocolError);
  }
}

TEST(PeerFrames, StrangersAreRefusedAtTheirFirstBytes) {
  for (const char* stranger : {"GET / HTTP/1.1\r\n", "*1\r\n$4\r\nPING\r\n", "\x16\x03\x01"}) {
    StreamDecoder d(kCluster, 1 << 20);
    std::vector<std::string> got;
    const Status s = d.feed(stranger, got);
    EXPECT_EQ(s.code(), StatusCode::kProtocolError) << stranger;
    EXPECT_NE(s.message().find("not a distkit peer"), std::string::npos) << s.to_string();
    EXPECT_EQ(d.feed(encode_hello({.cluster = kCluster, .node = 1}), got).code(),
              StatusCode::kProtocolError)
        << "a failed stream stays failed";
    EXPECT_TRUE(got.empty());
  }
}

TEST(PeerFrames, AnotherClusterOrVersionIsRefusedNamingIt) {
  std::vector<std::string> got;
  StreamDecoder other(kCluster, 1 << 20);
  const Status s = other.feed(encode_hello({.cluster = 0xC2, .node = 1}), got);
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);
  EXPECT_NE(s.message().find("cluster 194"), std::string::npos) << s.to_string();

  std::string future = encode_hello({.cluster = kCluster, .node = 1});
  future[4] = 2;  // version 2, with a matching checksum
  future.resize(future.size() - 4);
  put_u32(future, crc32c(future));
  StreamDecoder newer(kCluster, 1 << 20);
  const Status v = newer.feed(future, got);
  EXPECT_EQ(v.code(), StatusCode::kProtocolError);
  EXPECT_NE(v.message().find("version 2"), std::string::npos) << v.to_string();
}

TEST(PeerFrames, AnOversizedFrameIsRefusedBeforeItIsBuffered) {
  StreamDecoder d(kCluster, 1000);
  std::vector<std::string> got;
  std::string bytes = encode_hello({.cluster = kCluster, .node = 1});
  encode_frame(std::string(1000, 'x'), bytes);  // at the limit: fine
  ASSERT_TRUE(d.feed(bytes, got).ok());
  ASSERT_EQ(got.size(), 1u);
  std::string big;
  encode_frame(std::string(1001, 'x'), big);
  const Status s = d.feed(big.substr(0, kFrameHeaderBytes), got);  // the header alone
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);
  EXPECT_NE(s.message().find("1001 bytes"), std::string::npos) << s.to_string();
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
}  // namespace distkit::peer
