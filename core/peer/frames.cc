#include "distkit/core/peer/frames.h"

#include <algorithm>
#include <utility>

#include "distkit/core/base/bytes.h"

namespace distkit::peer {
namespace {

constexpr std::uint32_t kHelloMagic = 0x4850'4b44;  // "DKPH" little-endian
constexpr std::uint8_t kVersion = 1;

}  // namespace

std::string encode_hello(const Hello& hello) {
  std::string out;
  put_u32(out, kHelloMagic);
  put_u8(out, kVersion);
  put_u64(out, hello.cluster);
  put_u32(out, hello.node);
  put_u32(out, crc32c(out));
  return out;
}

void encode_frame(std::string_view payload, std::string& out) {
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, crc32c(payload));
  out.append(payload);
}

Status StreamDecoder::fail(std::string why) {
  failed_ = protocol_error("peer stream: " + std::move(why));
  buffer_.clear();
  return failed_;
}

Status StreamDecoder::feed(std::string_view bytes, std::vector<std::string>& out) {
  if (!failed_.ok()) return failed_;
  buffer_.append(bytes);
  std::size_t at = 0;
  if (!hello_) {
    if (buffer_.size() < kHelloBytes) {
      // Refuse a stranger as soon as its first bytes show it (an HTTP probe, a Redis
      // client on the wrong port) instead of waiting for 21 bytes.
      std::string magic;
      put_u32(magic, kHelloMagic);
      const std::size_t n = std::min(buffer_.size(), magic.size());
      if (buffer_.compare(0, n, magic, 0, n) != 0) return fail("not a distkit peer (bad magic)");
      return Status();
    }
    const std::string_view h(buffer_.data(), kHelloBytes);
    if (get_u32(h, 0) != kHelloMagic) return fail("not a distkit peer (bad magic)");
    if (crc32c(h.substr(0, kHelloBytes - 4)) != get_u32(h, kHelloBytes - 4))
      return fail("the hello's checksum does not match");
    if (static_cast<std::uint8_t>(h[4]) != kVersion)
      return fail("version " + std::to_string(static_cast<std::uint8_t>(h[4])) +
                  " (this build speaks " + std::to_string(kVersion) + ")");
    const Hello hello{.cluster = get_u64(h, 5), .node = get_u32(h, 13)};
    if (hello.cluster != cluster_)
      return fail("a member of cluster " + std::to_string(hello.cluster) + ", this is cluster " +
                  std::to_string(cluster_));
    hello_ = hello;
    at = kHelloBytes;
  }
  while (buffer_.size() - at >= kFrameHeaderBytes) {
    const std::uint32_t length = get_u32(buffer_, at);
    if (length > max_frame_bytes_)
      return fail("a frame of " + std::to_string(length) + " bytes (the limit is " +
                  std::to_string(max_frame_bytes_) + ")");
    if (buffer_.size() - at - kFrameHeaderBytes < length) break;  // the rest is coming
    const std::string_view payload(buffer_.data() + at + kFrameHeaderBytes, length);
    if (crc32c(payload) != get_u32(buffer_, at + 4))
      return fail("a frame's checksum does not match");
    out.emplace_back(payload);
    at += kFrameHeaderBytes + length;
  }
  buffer_.erase(0, at);
  return Status();
}

}  // namespace distkit::peer
