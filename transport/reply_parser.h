// ReplyParser: RESP2 replies from a byte stream, without sockets (hiredis's reader
// underneath). Feed what the socket delivered; take complete replies in order.
// A protocol error is final for the stream: the connection must be reset.
#ifndef DISTKIT_TRANSPORT_REPLY_PARSER_H_
#define DISTKIT_TRANSPORT_REPLY_PARSER_H_

#include <memory>
#include <optional>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit::transport {

class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  void feed(std::string_view bytes);
  // The next complete reply; nothing when more bytes are needed; kProtocolError when
  // the bytes are not RESP (and from then on).
  [[nodiscard]] std::optional<Result<RedisReply>> next();

 private:
  struct Reader;
  std::unique_ptr<Reader> reader_;
  std::optional<Status> error_;
};

// The RESP encoding of a command (hiredis's redisFormatCommandArgv).
[[nodiscard]] std::string encode_command(const RedisCommand& command);

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_REPLY_PARSER_H_
