#include <gtest/gtest.h>

#include "distkit/core/redis_reply.h"
#include "distkit/core/status.h"

TEST(Consumer, UsesDistkitPublicHeaders) {
  distkit::Result<int> r = distkit::unknown_outcome_error("reply lost");
  EXPECT_EQ(r.status().code(), distkit::StatusCode::kUnknownOutcome);
  EXPECT_EQ(distkit::RedisReply::integer(3).to_string(), "(integer) 3");
}
