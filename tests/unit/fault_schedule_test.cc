#include "distkit/sim/faults/fault_schedule.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "distkit/sim/cluster/sim_cluster.h"
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

// A plan without shards draws what it drew before the cluster kinds existed: the
// schedules below were recorded with the generator of before (commit c81b53b), so a
// slip in the order of draws fails here. With every kind, on 2 instances and 1 server.
TEST(FaultGenerator, SchedulesWithoutAClusterAreUnchanged) {
  const auto generate = [](std::uint64_t seed) {
    Rng rng(seed);
    RngChoices choices(rng);
    return to_string(generate_fault_schedule({.instances = {1, 2},
                                              .servers = {0},
                                              .chaos = std::chrono::seconds(5),
                                              .profile = FaultProfile::kAll,
                                              .rounds = 2},
                                             choices));
  };
  const char* const kRecorded[] = {
      "229000us crash 2; 671000us restart 2; 717000us partition 2 0; "
      "1013000us clock-drift 2 299; 1059000us script-flush 0; "
      "1187000us heal 2 0; 1236000us partition 2 0; "
      "1904000us redis-readonly 0 3862; 2097000us slow-link 1 0 47675; "
      "2472000us loss 1 0 27; 2482000us clock-drift 1 -150; "
      "3113000us slow-link 1 0 0; 4492000us pause 2; 4619000us heal 2 0; "
      "4786000us loss 1 2 375; 4911000us redis-readonly 0 241",
      "114000us clock-drift 1 -314; 566000us clock-drift 2 -378; "
      "1012000us redis-loading 0 1695; 1179000us partition 1 0; "
      "1732000us partition 1 0; 1777000us loss 1 0 304; "
      "1936000us redis-loading 0 2991; 2064000us heal 1 0; "
      "2160000us pause 2; 2991000us loss 2 0 332; 3106000us script-flush 0; "
      "3278000us resume 2; 3624000us pause 1; 3838000us heal 1 0; "
      "4292000us loss 2 0 0; 4563000us loss 1 0 0",
      "1914000us loss 1 0 200; 1997000us partition 2 0; "
      "2353000us redis-loading 0 245; 2369000us partition 2 0; "
      "2556000us clock-drift 2 -445; 2931000us clock-offset 2 1454; "
      "2995000us heal 2 0; 3399000us loss 2 1 371; "
      "3905000us redis-loading 0 2487; 4085000us crash 2; "
      "4171000us loss 1 0 0; 4382000us restart 2; 4487000us crash 1; "
      "4775000us heal 2 0; 4903000us script-flush 0",
  };
  for (std::uint64_t seed : {1, 2, 3})
    EXPECT_EQ(generate(seed), kRecorded[seed - 1]) << "seed " << seed;
  // With shards, the cluster kinds join in.
  Rng rng(1);
  RngChoices choices(rng);
  const FaultSchedule with_cluster = generate_fault_schedule({.instances = {1, 2},
                                                              .servers = {0},
                                                              .shards = {{0, 3}, {4, 5}},
                                                              .chaos = std::chrono::seconds(5),
                                                              .profile = FaultProfile::kAll,
                                                              .rounds = 2},
                                                             choices);
  EXPECT_NE(to_string(with_cluster).find("cluster-migrate"), std::string::npos);
}

// The cluster kinds: text, validation against the world's cluster, and their effect.
TEST(FaultSchedule, ClusterKindsActThroughTheWorldsCluster) {
  World world({.seed = 3});
  const NodeId lone =
      world.add_redis_server("lone", std::make_unique<test_support::FakeRedisModel>());
  SimCluster& cluster = SimCluster::create(world, {.masters = 2, .replicas = 1});
  const NodeId m0 = cluster.servers()[0], r0 = cluster.servers()[2];
  Result<FaultSchedule> ok =
      parse_fault_schedule("1000us cluster-migrate " + std::to_string(r0) +
                           " 10000; 50000us cluster-failover " + std::to_string(m0) + " 0");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(validate(*ok, world).ok()) << validate(*ok, world);
  for (const std::string& bad : {"0us cluster-migrate " + std::to_string(lone) + " -1",
                                 "0us cluster-migrate " + std::to_string(m0) + " 16384",
                                 "0us cluster-failover " + std::to_string(m0) + " 3"}) {
    Result<FaultSchedule> parsed = parse_fault_schedule(bad);
    ASSERT_TRUE(parsed.ok()) << bad;
    EXPECT_EQ(validate(*parsed, world).code(), StatusCode::kInvalidArgument) << bad;
  }
  // Slot 10000 belongs to master 1 at first; it moves to r0's shard (master 0). Then
  // the manual failover makes r0 the master of it.
  EXPECT_EQ(cluster.owner_of_slot(10000), cluster.servers()[1]);
  world.add_instance("c", [](NodeContext&) -> Task<void> { co_return; });
  apply(*ok, world);
  world.run_for(std::chrono::milliseconds(30));
  EXPECT_EQ(cluster.owner_of_slot(10000), m0) << "migrated to r0's shard";
  world.run_for(std::chrono::seconds(1));
  EXPECT_EQ(cluster.owner_of_slot(10000), r0);
  EXPECT_FALSE(cluster.is_master(m0));
  EXPECT_TRUE(cluster.check_invariants().ok());
}

}  // namespace
}  // namespace distkit::sim
