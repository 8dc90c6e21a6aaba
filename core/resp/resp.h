// RESP2 without sockets, both ends of the wire.
// - Server side: encoding replies and parsing requests (multibulk or inline, as Redis
//   accepts them), with Redis's limits. Used by tools/simredis and the simulated Redis.
// - Client side: encoding commands and parsing replies, with explicit limits. Used by
//   the connection state machine (core/conn), so production and the simulator parse
//   with the same code.
#ifndef DISTKIT_CORE_RESP_RESP_H_
#define DISTKIT_CORE_RESP_RESP_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

// Appends the RESP2 encoding of `reply` to `out`.
void encode_reply(const RedisReply& reply, std::string& out);
[[nodiscard]] std::string encode_reply(const RedisReply& reply);

struct RespRequestLimits {
  std::size_t max_arguments = 1024 * 1024;                 // Redis: invalid multibulk length
  std::size_t max_bulk_bytes = 512 * 1024 * 1024;          // proto-max-bulk-len
  std::size_t max_inline_bytes = 64 * 1024;                // PROTO_INLINE_MAX_SIZE
  std::size_t max_buffered_bytes = 1024ull * 1024 * 1024;  // client-query-buffer-limit
};

// Incremental parser of client requests. Feed bytes as they arrive; take complete
// commands with next(). A protocol error is final: the caller replies with it
// (its message is Redis's error line) and closes the connection.
class RespRequestParser {
 public:
  explicit RespRequestParser(RespRequestLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // A complete command; nothing when more bytes are needed; kProtocolError when the
  // stream is not valid RESP (then every later call returns the same error). An
  // empty inline line or "*0" yields no command, as in Redis.
  [[nodiscard]] std::optional<Result<RedisCommand>> next();

  // Bytes received but not yet consumed.
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - position_; }

 private:
  std::optional<Result<RedisCommand>> fail(std::string message);
  // One step of next(): sets skipped_ when it consumed a frame that carries no command.
  std::optional<Result<RedisCommand>> next_one();
  std::optional<Result<RedisCommand>> parse_inline();
  // A CRLF-terminated line starting at position_, or nothing if incomplete.
  std::optional<std::string_view> line(std::size_t max);
  void compact();

  RespRequestLimits limits_;
  std::string buffer_;
  std::size_t position_ = 0;
  // State of the multibulk being read.
  bool in_multibulk_ = false;
  std::size_t expected_arguments_ = 0;
  std::optional<std::size_t> bulk_length_;  // read a "$n" line, waiting for n bytes
  RedisCommand command_;
  std::optional<Status> error_;
  bool skipped_ = false;
};

// Appends the RESP2 multibulk encoding of `command` ("*2\r\n$3\r\nGET\r\n...").
void encode_command(const RedisCommand& command, std::string& out);
[[nodiscard]] std::string encode_command(const RedisCommand& command);
// The size encode_command would append, without encoding.
[[nodiscard]] std::size_t encoded_command_size(const RedisCommand& command);

struct RespReplyLimits {
  // Levels of nested arrays. hiredis 0.14 reads 8 ("depth > 7" counts from 0) and
  // refuses a ninth; so do we by default.
  std::size_t max_depth = 8;
  std::size_t max_bulk_bytes = 512 * 1024 * 1024;  // Redis's own proto-max-bulk-len
  std::size_t max_array_elements = 1024 * 1024 * 1024;
  std::size_t max_line_bytes = 64 * 1024;  // a simple string, error, integer or header
};

// Incremental parser of server replies (RESP2). Feed bytes as they arrive, in any
// segments; take complete replies with next(). Bytes are looked at once: a reply
// split into one-byte segments costs no more than a whole one. A protocol error is
// final (every later call returns it): the caller resets the connection.
class RespReplyParser {
 public:
  explicit RespReplyParser(RespReplyLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete reply; nothing when more bytes are needed; kProtocolError when
  // the stream is not valid RESP2 or passes a limit.
  [[nodiscard]] std::optional<Result<RedisReply>> next();

  // Bytes received but not yet consumed.
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - position_; }

 private:
  struct Frame {
    std::vector<RedisReply> elements;
    std::size_t expected = 0;
  };
  std::optional<Result<RedisReply>> fail(std::string message);
  // The value of one complete item at position_, or nothing if incomplete.
  std::optional<Result<RedisReply>> item();

  RespReplyLimits limits_;
  std::string buffer_;
  std::size_t position_ = 0;
  std::vector<Frame> stack_;  // the arrays being filled, outermost first
  std::optional<Status> error_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_RESP_RESP_H_
