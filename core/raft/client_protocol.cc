#include "distkit/core/raft/client_protocol.h"

#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

constexpr std::uint8_t kVersion = 1;

Status bad(std::string_view what) {
  return protocol_error("raft client protocol: " + std::string(what));
}

}  // namespace

std::string encode_request(const ClientRequest& request) {
  std::string out;
  out.reserve(1 + 1 + 24 + 4 + request.body.size());
  put_u8(out, kVersion);
  put_u8(out, static_cast<std::uint8_t>(request.op));
  put_u64(out, request.call);
  put_u64(out, request.client);
  put_u64(out, request.seq);
  put_sized(out, request.body);
  return out;
}

std::string encode_reply(const ClientReply& reply) {
  std::string out;
  out.reserve(1 + 8 + 1 + 8 + 4 + reply.body.size());
  put_u8(out, kVersion);
  put_u64(out, reply.call);
  put_u8(out, static_cast<std::uint8_t>(reply.code));
  put_u64(out, reply.leader);
  put_sized(out, reply.body);
  return out;
}

Result<ClientRequest> decode_request(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t version = 0;
  std::uint8_t op = 0;
  ClientRequest request;
  if (!r.u8(version)) return bad("an empty request");
  if (version != kVersion) return bad("unknown request version " + std::to_string(version));
  if (!r.u8(op) || !r.u64(request.call) || !r.u64(request.client) || !r.u64(request.seq) ||
      !r.sized(request.body))
    return bad("a truncated request");
  if (op > static_cast<std::uint8_t>(ClientOp::kRead))
    return bad("unknown request op " + std::to_string(op));
  if (r.left() != 0) return bad("trailing bytes after a request");
  request.op = static_cast<ClientOp>(op);
  return request;
}

Result<ClientReply> decode_reply(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t version = 0;
  std::uint8_t code = 0;
  ClientReply reply;
  if (!r.u8(version)) return bad("an empty reply");
  if (version != kVersion) return bad("unknown reply version " + std::to_string(version));
  if (!r.u64(reply.call) || !r.u8(code) || !r.u64(reply.leader) || !r.sized(reply.body))
    return bad("a truncated reply");
  if (code > static_cast<std::uint8_t>(StatusCode::kDataLoss))
    return bad("unknown status code " + std::to_string(code));
  if (r.left() != 0) return bad("trailing bytes after a reply");
  reply.code = static_cast<StatusCode>(code);
  return reply;
}

}  // namespace distkit::raft
