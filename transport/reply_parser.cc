#include "distkit/transport/reply_parser.h"

#include <hiredis/hiredis.h>

#include <vector>

#include "distkit/transport/hiredis_reply.h"

namespace distkit::transport {

struct ReplyParser::Reader {
  redisReader* reader = redisReaderCreate();
  ~Reader() { redisReaderFree(reader); }
};

ReplyParser::ReplyParser() : reader_(std::make_unique<Reader>()) {}
ReplyParser::~ReplyParser() = default;

void ReplyParser::feed(std::string_view bytes) {
  if (error_ || bytes.empty()) return;
  if (redisReaderFeed(reader_->reader, bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = protocol_error(std::string("reply parser: ") + reader_->reader->errstr);
  }
}

std::optional<Result<RedisReply>> ReplyParser::next() {
  if (error_) return Result<RedisReply>(*error_);
  void* raw = nullptr;
  if (redisReaderGetReply(reader_->reader, &raw) != REDIS_OK) {
    error_ = protocol_error(std::string("malformed reply: ") + reader_->reader->errstr);
    return Result<RedisReply>(*error_);
  }
  if (raw == nullptr) return std::nullopt;
  Result<RedisReply> reply = reply_from_hiredis(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  if (!reply.ok()) error_ = reply.status();
  return reply;
}

std::string encode_command(const RedisCommand& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* bytes = nullptr;
  const int length =
      redisFormatCommandArgv(&bytes, static_cast<int>(argv.size()), argv.data(), lengths.data());
  std::string out;
  if (length > 0 && bytes != nullptr) out.assign(bytes, static_cast<std::size_t>(length));
  redisFreeCommand(bytes);
  return out;
}

}  // namespace distkit::transport
