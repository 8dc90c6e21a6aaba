#include "distkit/transport/hiredis_reply.h"

#include <hiredis/hiredis.h>

#include <string>
#include <vector>

namespace distkit::transport {

Result<RedisReply> reply_from_hiredis(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      return RedisReply::nil();
    case REDIS_REPLY_INTEGER:
      return RedisReply::integer(reply.integer);
    case REDIS_REPLY_STATUS:
      return RedisReply::simple_string(std::string(reply.str, reply.len));
    case REDIS_REPLY_STRING:
      return RedisReply::bulk_string(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return RedisReply::error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<RedisReply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        DISTKIT_ASSIGN_OR_RETURN(RedisReply element, reply_from_hiredis(*reply.element[i]));
        elements.push_back(std::move(element));
      }
      return RedisReply::array(std::move(elements));
    }
    default:
      return protocol_error("hiredis reply of unknown type " + std::to_string(reply.type));
  }
}

}  // namespace distkit::transport
