#include "distkit/sim/faults/fault_schedule.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "distkit/sim/faults/fault_generator.h"
#include "distkit/sim/harness/harness.h"
#include "distkit/tests/support/fake_redis_model.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;

RC_GTEST_PROP(FaultSchedule, TextRoundTrips, ()) {
  const FaultSchedule schedule =
      *harness::gen_fault_schedule({1, 2, 3}, {0}, std::chrono::seconds(10));
  Result<FaultSchedule> parsed = parse_fault_schedule(to_string(schedule));
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == schedule);
}

// The one generator, whoever draws: events inside the chaos phase, on the plan's nodes
// (valid for the world), of the profile's kinds only, and the same schedule for the
// same seed.
TEST(FaultGenerator, KeepsToThePlan) {
  World world({.seed = 1});
  const NodeId server =
      world.add_redis_server("redis", std::make_unique<test_support::FakeRedisModel>());
  std::vector<NodeId> instances;
  for (int i = 0; i < 3; ++i)
    instances.push_back(
        world.add_instance("c" + std::to_string(i), [](NodeContext&) -> Task<void> { co_return; }));
  const auto generate = [&](FaultProfile profile, std::uint64_t seed) {
    Rng rng(seed);
    RngChoices choices(rng);
    return generate_fault_schedule({.instances = instances,
                                    .servers = {server},
                                    .chaos = std::chrono::seconds(20),
                                    .profile = profile,
                                    .rounds = 8},
                                   choices);
  };
  const FaultSchedule all = generate(FaultProfile::kAll, 7);
  EXPECT_TRUE(validate(all, world).ok()) << validate(all, world);
  EXPECT_GT(all.events.size(), 20u);
  EXPECT_EQ(generate(FaultProfile::kAll, 7), all);
  EXPECT_NE(generate(FaultProfile::kAll, 8), all);
  for (const FaultEvent& e : all.events)
    EXPECT_LT(e.at, std::chrono::seconds(20));
  for (const FaultEvent& e : generate(FaultProfile::kClockSkew, 7).events) {
    EXPECT_TRUE(e.kind == FaultKind::kClockOffset || e.kind == FaultKind::kClockDrift ||
                e.kind == FaultKind::kClockJump)
        << fault_kind_name(e.kind);
    EXPECT_NE(e.a, server) << "a server's clock is never skewed";
  }
  EXPECT_TRUE(generate(FaultProfile::kNone, 7).events.empty());
  EXPECT_EQ(profile_name(*parse_profile("partitions,clock-skew")), "partitions,clock-skew");
  EXPECT_EQ(parse_profile("partitions,typo").status().code(), StatusCode::kInvalidArgument);
}

TEST(FaultSchedule, ParsesTheDocumentedForm) {
  Result<FaultSchedule> s =
      parse_fault_schedule(" 1500us partition 0 1 ;2000000us heal-all; 7us clock-drift 2 -300");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_EQ(s->events.size(), 3u);
  EXPECT_EQ(s->events[0],
            (FaultEvent{std::chrono::microseconds(1500), FaultKind::kPartition, 0, 1, 0}));
  EXPECT_EQ(s->events[1].kind, FaultKind::kHealAll);
  EXPECT_EQ(s->events[2].value, -300);
  EXPECT_TRUE(parse_fault_schedule("")->events.empty());
}

TEST(FaultSchedule, RejectsMalformedTextClearly) {
  const char* bad[] = {"partition 0 1",       "15ms partition 0 1",   "1us partition 0",
                       "1us partition 0 1 2", "1us explode 0",        "1us loss 0 1 x",
                       "-5us heal-all",       "1us crash 99999999999"};
  for (const char* text : bad) {
    Result<FaultSchedule> s = parse_fault_schedule(text);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.status().message().find("fault \""), std::string::npos) << s.status().to_string();
  }
}

TEST(FaultSchedule, ValidateChecksNodesKindsAndRanges) {
  World world;
  world.add_redis_server("redis", std::make_unique<distkit::test_support::FakeRedisModel>());
  world.add_instance("a", [](NodeContext&) -> Task<void> { co_return; });
  auto check = [&](const char* text) {
    Result<FaultSchedule> s = parse_fault_schedule(text);
    EXPECT_TRUE(s.ok()) << text;
    return validate(*s, world);
  };
  EXPECT_TRUE(check("1us partition 0 1; 2us redis-restart 0 2; 3us crash 1").ok());
  EXPECT_EQ(check("1us partition 0 5").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(check("1us partition 1 1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(check("1us script-flush 1").message(),
            "fault script-flush at 0ms: a is not a Redis server");
  EXPECT_EQ(check("1us loss 0 1 1001").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(check("1us clock-drift 1 -500000").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(check("1us redis-restart 0 3").code(), StatusCode::kInvalidArgument);
}

TEST(FaultSchedule, DescribeUsesNodeNames) {
  World world;
  world.add_redis_server("redis", std::make_unique<distkit::test_support::FakeRedisModel>());
  world.add_instance("web-1", [](NodeContext&) -> Task<void> { co_return; });
  Result<FaultSchedule> s = parse_fault_schedule("1500000us partition-one-way 1 0");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(describe(*s, world), "     1.500s  partition-one-way web-1 redis\n");
}

}  // namespace
}  // namespace distkit::sim
