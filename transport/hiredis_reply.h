// Conversion of hiredis's parsed reply objects into distkit's RedisReply.
// hiredis 0.14 speaks RESP2 only, so every hiredis reply type has a RedisReply twin.
#ifndef DISTKIT_TRANSPORT_HIREDIS_REPLY_H_
#define DISTKIT_TRANSPORT_HIREDIS_REPLY_H_

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

struct redisReply;

namespace distkit::transport {

// A deep copy of `reply`. Fails with kProtocolError on a reply type hiredis 0.14 does
// not define (which would mean memory corruption or a different hiredis).
[[nodiscard]] Result<RedisReply> reply_from_hiredis(const redisReply& reply);

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_HIREDIS_REPLY_H_
