// The messages between a Raft group's clients and its members, on the client channel
// of the members' peer endpoints (PeerChannels tag kClientChannel; Raft's own
// messages use kRaftChannel).
//
// Request (version 1):
//   u8 version | u8 op | u64 call | u64 client | u64 seq | u32 length | body
// Reply:
//   u8 version | u64 call | u8 status code | u64 leader | u32 length | body
// `call` pairs a reply with its request; `leader` is the member the replier believes
// leads (a peer id + 1; 0: unknown); a reply's body is the answer when the status is
// OK, else the error message. Decoding checks every length: garbage is a
// kProtocolError, never a crash.
#ifndef DISTKIT_CORE_RAFT_CLIENT_PROTOCOL_H_
#define DISTKIT_CORE_RAFT_CLIENT_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/peer_channels.h"

namespace distkit::raft {

inline constexpr PeerChannels::Tag kRaftChannel = 1;
inline constexpr PeerChannels::Tag kClientChannel = 2;

enum class ClientOp : std::uint8_t {
  kRegister,  // open a session; the answer is the client id
  kWrite,     // a command, deduplicated by (client, seq)
  kRead,      // a query, answered after a read barrier (linearizable)
};

struct ClientRequest {
  ClientOp op = ClientOp::kRead;
  std::uint64_t call = 0;
  std::uint64_t client = 0;
  std::uint64_t seq = 0;
  std::string body;
  friend bool operator==(const ClientRequest&, const ClientRequest&) = default;
};

struct ClientReply {
  std::uint64_t call = 0;
  StatusCode code = StatusCode::kOk;
  std::uint64_t leader = 0;  // peer id + 1; 0: unknown
  std::string body;
  friend bool operator==(const ClientReply&, const ClientReply&) = default;
};

[[nodiscard]] std::string encode_request(const ClientRequest& request);
[[nodiscard]] std::string encode_reply(const ClientReply& reply);
[[nodiscard]] Result<ClientRequest> decode_request(std::string_view bytes);
[[nodiscard]] Result<ClientReply> decode_reply(std::string_view bytes);

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_CLIENT_PROTOCOL_H_
