// The bytes of a stream between two peers (transport/tcp_peers.h drives them over TCP;
// nothing here knows sockets). The dialing side opens with a hello, then sends frames:
//
//   hello: "DKPH" | u8 version 1 | u64 cluster id | u32 node id | u32 crc32c of the 17
//          bytes before it
//   frame: u32 payload length | u32 crc32c of the payload | payload
//
// Integers are little-endian. StreamDecoder takes the bytes as they arrive, in any
// pieces, and hands out whole payloads whose checksum matched. A stream that is not
// ours (wrong magic, version or cluster), or that carries a damaged or oversized
// frame, is a kProtocolError naming what was wrong: the transport closes it, and
// nothing after the damage is delivered, so a frame is delivered whole or not at all.
#ifndef DISTKIT_CORE_PEER_FRAMES_H_
#define DISTKIT_CORE_PEER_FRAMES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/peer.h"

namespace distkit::peer {

inline constexpr std::size_t kHelloBytes = 4 + 1 + 8 + 4 + 4;
inline constexpr std::size_t kFrameHeaderBytes = 4 + 4;

struct Hello {
  std::uint64_t cluster = 0;
  NodeId node = 0;
  friend bool operator==(const Hello&, const Hello&) = default;
};

[[nodiscard]] std::string encode_hello(const Hello& hello);
// Appends the frame of `payload` to `out`. REQUIRES payload.size() < 4 GiB.
void encode_frame(std::string_view payload, std::string& out);

class StreamDecoder {
 public:
  // Frames of more than `max_frame_bytes` are refused before they are buffered.
  StreamDecoder(std::uint64_t cluster, std::size_t max_frame_bytes)
      : cluster_(cluster), max_frame_bytes_(max_frame_bytes) {}

  // Consumes `bytes` and appends each whole payload to `out`. The hello comes first;
  // hello() names the peer once it is in. After an error every call returns it again.
  [[nodiscard]] Status feed(std::string_view bytes, std::vector<std::string>& out);
  [[nodiscard]] const std::optional<Hello>& hello() const { return hello_; }
  // Bytes held while a hello or frame is incomplete.
  [[nodiscard]] std::size_t buffered() const { return buffer_.size(); }

 private:
  Status fail(std::string why);

  std::uint64_t cluster_;
  std::size_t max_frame_bytes_;
  std::optional<Hello> hello_;
  std::string buffer_;
  Status failed_;
};

}  // namespace distkit::peer

#endif  // DISTKIT_CORE_PEER_FRAMES_H_
