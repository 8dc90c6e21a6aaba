#include <gtest/gtest.h>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"
#include "distkit/sim/world/world.h"

TEST(Consumer, UsesDistkitPublicHeaders) {
  distkit::Result<int> r = distkit::unknown_outcome_error("reply lost");
  EXPECT_EQ(r.status().code(), distkit::StatusCode::kUnknownOutcome);
  EXPECT_EQ(distkit::RedisReply::integer(3).to_string(), "(integer) 3");
}

// The simulator is usable from a consumer's own tests.
TEST(Consumer, RunsASimulatedWorld) {
  distkit::sim::World world({.seed = 3});
  int ticks = 0;
  world.add_instance("a", [&](distkit::sim::NodeContext& node) -> distkit::Task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await distkit::sleep_for(node.executor(), std::chrono::seconds(1));
      ++ticks;
    }
  });
  world.run_for(std::chrono::seconds(10));
  EXPECT_EQ(ticks, 5);
}
