// The scenario runner (tools/distkit-sim): parsing and its errors, determinism (the
// same seed gives the same trace hash), a deliberately broken counter caught and its
// fault schedule shrunk, the report well-formed, and the command line's exit codes,
// messages and files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "distkit/tools/sim/report.h"
#include "distkit/tools/sim/scenario.h"

namespace distkit::scenario {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Scenario, ParsesDurationsProfilesAndWorkloads) {
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("90s"), seconds(90));
  EXPECT_EQ(*parse_duration("1h30m"), std::chrono::minutes(90));
  for (const char* bad : {"", "10", "s", "-5s", "5x", "1h-", "0s", "99999999999999h"})
    EXPECT_EQ(parse_duration(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(format_duration(seconds(90)), "90s");
  EXPECT_EQ(format_duration(std::chrono::hours(1)), "1h");
  EXPECT_EQ(*parse_profile("partitions,clock-skew"),
            FaultProfile::kPartitions | FaultProfile::kClockSkew);
  EXPECT_EQ(profile_name(*parse_profile("clock-skew,partitions")), "partitions,clock-skew");
  EXPECT_EQ(profile_name(*parse_profile("all")), "all");
  EXPECT_EQ(parse_profile("partitions,floods").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_workload("spiky").status().code(), StatusCode::kInvalidArgument);
  ScenarioOptions o;
  o.primitive = "no-such-thing";
  EXPECT_EQ(o.validate().code(), StatusCode::kInvalidArgument);
  o.primitive = "gcra";
  o.instances = 0;
  EXPECT_EQ(o.validate().code(), StatusCode::kInvalidArgument);
}

TEST(Scenario, TheSameSeedGivesTheSameRun) {
  for (const char* primitive :
       {"lax-counter", "gcra", "strict-ia-counter", "hybrid-suppressed", "raft-kv"}) {
    ScenarioOptions o{.primitive = primitive, .instances = 4, .duration = seconds(20), .seed = 7};
    Result<ScenarioResult> a = run_scenario(o);
    Result<ScenarioResult> b = run_scenario(o);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(a->violation.has_value()) << primitive << ": " << a->violation->message;
    EXPECT_EQ(a->trace_hash, b->trace_hash) << primitive;
    EXPECT_EQ(a->events, b->events);
    EXPECT_EQ(a->operations, b->operations);
    EXPECT_GT(a->schedule.events.size(), 5u) << "faults were injected";
    o.seed = 8;
    Result<ScenarioResult> c = run_scenario(o);
    ASSERT_TRUE(c.ok());
    EXPECT_NE(a->trace_hash, c->trace_hash) << "another seed, another run";
    // Replaying the schedule that the seed generated is the same run.
    o.seed = 7;
    o.schedule = a->schedule;
    Result<ScenarioResult> replay = run_scenario(o);
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ(replay->trace_hash, a->trace_hash);
  }
}

TEST(Scenario, EveryPrimitiveHoldsItsInvariantUnderEveryFault) {
  Result<FaultProfile> all = parse_profile("all");
  ASSERT_TRUE(all.ok());
  int count = 0;
  for (const PrimitiveInfo& info : primitives()) {
    if (info.name == "retrying-counter") continue;  // the broken one below
    ++count;
    for (std::uint64_t seed : {1, 2}) {
      ScenarioOptions o{.primitive = info.name,
                        .instances = 3,
                        .faults = *all,
                        .duration = seconds(10),
                        .seed = seed};
      Result<ScenarioResult> r = run_scenario(o);
      ASSERT_TRUE(r.ok()) << info.name << ": " << r.status();
      EXPECT_FALSE(r->violation.has_value())
          << info.name << " seed " << seed << ": " << r->violation->message;
      EXPECT_GT(r->operations, 50u) << info.name;
    }
  }
  EXPECT_EQ(count, 12) << "four counters, five limiters, three on Raft";
}

// A counter that "fixes" lost replies by sending the INCRBY again: at-least-once,
// so a retry after a reply lost on the way back counts twice. It believes every
// acknowledged increment counted exactly once.
class RetryingCounter final : public Primitive {
 public:
  Task<void> run(InstanceEnv& env) override {
    while (!*env.stop) {
      const std::string key = "k" + std::to_string(env.rng->below(2));
      const std::int64_t delta = env.rng->between(1, 3);
      ++operations_;
      for (int attempt = 0; attempt < 20; ++attempt) {
        Result<RedisReply> r = co_await env.redis->command("INCRBY", key, delta);
        if (r.ok()) {
          acked_[key] += delta;
          break;
        }
        if (r.status().code() != StatusCode::kUnknownOutcome) break;  // certainly not applied
      }
      co_await sleep_for(*env.executor, milliseconds(env.rng->between(10, 50)));
    }
    settled(env.process);
    while (!*env.released)
      co_await sleep_for(*env.executor, milliseconds(10));
  }
  Task<void> observe(InstanceEnv& env) override {
    for (const std::string key : {"k0", "k1"}) {
      Result<RedisReply> r = co_await env.redis->command("GET", key);
      if (r.ok() && r->is_bulk_string()) finals_[key] = std::stoll(r->text());
    }
  }
  void sample(double, Timeline&) override {}
  std::optional<Violation> check() override {
    for (const auto& [key, acked] : acked_) {
      if (finals_[key] != acked) {
        return Violation{
            key + " = " + std::to_string(finals_[key]) + ", acknowledged " + std::to_string(acked),
            -1};
      }
    }
    return std::nullopt;
  }
  std::uint64_t operations() const override { return operations_; }
  std::string invariant() const override { return "final == acknowledged"; }

 private:
  std::map<std::string, std::int64_t> acked_, finals_;
  std::uint64_t operations_ = 0;
};

TEST(Scenario, ABrokenCounterIsCaughtAndItsScheduleShrunk) {
  register_primitive({"retrying-counter", "test only: INCRBY retried on unknown outcomes",
                      [](const ScenarioOptions&) { return std::make_unique<RetryingCounter>(); }});
  ScenarioOptions o{.primitive = "retrying-counter",
                    .instances = 3,
                    .faults = FaultProfile::kLossyNetwork | FaultProfile::kPartitions,
                    .duration = seconds(20)};
  std::optional<ScenarioResult> failing;
  for (std::uint64_t seed = 1; seed <= 10 && !failing; ++seed) {
    o.seed = seed;
    Result<ScenarioResult> r = run_scenario(o);
    ASSERT_TRUE(r.ok());
    if (r->violation) failing = *r;
  }
  ASSERT_TRUE(failing.has_value()) << "lost replies and retries must double-count somewhere";
  o.seed = failing->options.seed;
  const sim::FaultSchedule small = shrink_schedule(o, failing->schedule, 60);
  EXPECT_LT(small.events.size(), failing->schedule.events.size());
  o.schedule = small;
  Result<ScenarioResult> replay = run_scenario(o);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->violation.has_value()) << "the shrunk schedule still fails";
  const std::string command = replay_command(*replay);
  EXPECT_NE(command.find("--seed " + std::to_string(o.seed)), std::string::npos) << command;
  EXPECT_NE(command.find("--schedule '"), std::string::npos) << command;
  // The real counter survives the very same schedule.
  o.primitive = "strict-counter";
  Result<ScenarioResult> strict = run_scenario(o);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->violation.has_value()) << strict->violation->message;
}

// Raft groups broken on purpose, each caught by the check meant for it, with a replay
// line that names the group's size: members that acknowledge appends before their
// disk has them (a crash then loses a committed entry: the durability invariant,
// checked after every event), and sessions that apply retried commands again (the
// clients' history is not linearizable). The real group survives the same schedule.
TEST(Scenario, BrokenRaftGroupsAreCaught) {
  register_primitive({"raft-counter-early-ack", "test only: acknowledges before syncing",
                      [](const ScenarioOptions& o) {
                        return make_raft_primitive(o, false, [](raft::RaftServerOptions& m) {
                          m.node.raft.mutation = raft::Mutation::kAcknowledgeBeforePersisting;
                        });
                      },
                      Backend::kRaft});
  register_primitive({"raft-counter-no-dedup", "test only: retried commands applied again",
                      [](const ScenarioOptions& o) {
                        return make_raft_primitive(o, false, [](raft::RaftServerOptions& m) {
                          m.sessions.deduplicate = false;
                        });
                      },
                      Backend::kRaft});
  for (const auto& [primitive, expected] :
       {std::pair<std::string, std::string>{"raft-counter-early-ack", "durable on"},
        {"raft-counter-no-dedup", "not linearizable"}}) {
    ScenarioOptions o{.primitive = primitive, .instances = 3, .duration = seconds(20)};
    std::optional<ScenarioResult> failing;
    for (std::uint64_t seed = 1; seed <= 8 && !failing; ++seed) {
      o.seed = seed;
      Result<ScenarioResult> r = run_scenario(o);
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->violation) failing = *r;
    }
    ASSERT_TRUE(failing.has_value()) << primitive << " was not caught in 8 seeds";
    std::cout << primitive << " caught at seed " << failing->options.seed << ": "
              << failing->violation->message << "\n";
    EXPECT_NE(failing->violation->message.find(expected), std::string::npos)
        << primitive << ": " << failing->violation->message;
    EXPECT_NE(replay_command(*failing).find("--members 3"), std::string::npos);
    o.primitive = "raft-counter";
    o.seed = failing->options.seed;
    o.schedule = failing->schedule;
    Result<ScenarioResult> real = run_scenario(o);
    ASSERT_TRUE(real.ok());
    EXPECT_FALSE(real->violation.has_value()) << real->violation->message;
  }
}

// On a simulated Redis Cluster (3 masters with a replica each) with every fault,
// slot migrations and failovers included: the same seed is the same run, a replay
// line names the topology, every primitive keeps its invariant, and the broken
// counter is still caught.
TEST(Scenario, OnASimulatedClusterEveryPrimitiveHoldsAndRunsReplay) {
  EXPECT_EQ(topology_name(*parse_topology("cluster:3")), "cluster:3x1");
  EXPECT_EQ(parse_topology("cluster:3x2")->replicas, 2);
  EXPECT_FALSE(parse_topology("standalone")->cluster());
  for (const char* bad : {"cluster", "cluster:", "cluster:0", "cluster:17", "cluster:3x4",
                          "cluster:3x", "cluster:3y1", "sentinel"}) {
    EXPECT_EQ(parse_topology(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  const RedisTopology cluster{.masters = 3, .replicas = 1};
  int count = 0;
  for (const PrimitiveInfo& info : primitives()) {
    // (The Raft primitives run on a Raft group, not on Redis.)
    if (info.name == "retrying-counter" || info.backend == Backend::kRaft) continue;
    ++count;
    ScenarioOptions o{.primitive = info.name,
                      .instances = 3,
                      .faults = FaultProfile::kAll,
                      .redis = cluster,
                      .duration = seconds(20),
                      .seed = 3};
    Result<ScenarioResult> r = run_scenario(o);
    ASSERT_TRUE(r.ok()) << info.name << ": " << r.status();
    EXPECT_FALSE(r->violation.has_value()) << info.name << ": " << r->violation->message;
    EXPECT_GT(r->operations, 50u) << info.name;
    EXPECT_NE(r->schedule_description.find("cluster-"), std::string::npos)
        << "cluster changes were injected";
    EXPECT_EQ(r->nodes[0], "redis-0") << "the cluster's servers come first";
    // The report's timeline shows what the cluster did, from its history.
    EXPECT_TRUE(std::any_of(r->faults.begin(), r->faults.end(), [](const FaultMark& m) {
      return m.what.starts_with("migrating slot ") && m.to_seconds >= m.from_seconds;
    })) << info.name;
    if (count == 1) {
      Result<ScenarioResult> again = run_scenario(o);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->trace_hash, r->trace_hash);
      o.schedule = r->schedule;
      Result<ScenarioResult> replay = run_scenario(o);
      ASSERT_TRUE(replay.ok());
      EXPECT_EQ(replay->trace_hash, r->trace_hash);
      EXPECT_NE(replay_command(*replay).find("--redis cluster:3x1"), std::string::npos);
      o.schedule.reset();
      o.seed = 4;
      Result<ScenarioResult> other = run_scenario(o);
      ASSERT_TRUE(other.ok());
      EXPECT_NE(other->trace_hash, r->trace_hash);
    }
  }
  EXPECT_EQ(count, 9);
  register_primitive({"retrying-counter", "test only: INCRBY retried on unknown outcomes",
                      [](const ScenarioOptions&) { return std::make_unique<RetryingCounter>(); }});
  int caught = 0;
  for (std::uint64_t seed = 1; seed <= 10 && caught == 0; ++seed) {
    ScenarioOptions o{.primitive = "retrying-counter",
                      .instances = 3,
                      .faults = FaultProfile::kLossyNetwork | FaultProfile::kPartitions,
                      .redis = cluster,
                      .duration = seconds(20),
                      .seed = seed};
    Result<ScenarioResult> r = run_scenario(o);
    ASSERT_TRUE(r.ok());
    if (r->violation) ++caught;
  }
  EXPECT_EQ(caught, 1) << "retried unknown outcomes double-count on a cluster too";
}

// A Raft primitive's report adds the members' terms and commit indexes, and their
// terms as leader among the faults.
TEST(Report, ShowsARaftGroupsTermsCommitsAndLeaders) {
  ScenarioOptions o{.primitive = "raft-kv", .instances = 2, .duration = seconds(10)};
  Result<ScenarioResult> r = run_scenario(o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->violation.has_value()) << r->violation->message;
  EXPECT_EQ(r->nodes[0], "m1") << "the members come first";
  EXPECT_EQ(r->terms.series.size(), 3u);
  EXPECT_EQ(r->commits.series.size(), 3u);
  EXPECT_TRUE(std::any_of(r->faults.begin(), r->faults.end(), [](const FaultMark& m) {
    return m.what.starts_with("leader, term ") && m.to_seconds >= m.from_seconds;
  }));
  const std::string html = render_report({ReportEntry{.result = *r}});
  EXPECT_NE(html.find("each member&#39;s term"), std::string::npos);
  EXPECT_NE(html.find("each member&#39;s commit index"), std::string::npos);
}

TEST(Report, IsSelfContainedAndWellFormed) {
  ScenarioOptions o{.primitive = "hybrid-window", .instances = 3, .duration = seconds(10)};
  Result<ScenarioResult> r = run_scenario(o);
  ASSERT_TRUE(r.ok());
  r->violation = Violation{"a <b> & 'c'", 4.5};
  const std::string html = render_report({ReportEntry{.result = *r, .replay = "bazel run x"}});
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
  const auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (std::size_t at = html.find(s); at != std::string::npos; at = html.find(s, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("<svg"), 2u) << "the fault timeline and the chart";
  EXPECT_EQ(count("<svg"), count("</svg>"));
  EXPECT_EQ(count("<section>"), count("</section>"));
  EXPECT_EQ(count("<polyline"), count("</polyline>"));
  EXPECT_EQ(count("<script"), 0u) << "no scripts";
  EXPECT_EQ(count("src="), 0u) << "nothing to fetch";
  EXPECT_EQ(count("href="), 0u);
  EXPECT_NE(html.find("a &lt;b&gt; &amp; &#39;c&#39;"), std::string::npos) << "escaped";
  EXPECT_NE(html.find("stroke=\"red\""), std::string::npos) << "the violation is marked";
  EXPECT_NE(html.find("app-2"), std::string::npos);
}

// ---- The command line.

struct CliRun {
  int status = -1;
  std::string output;
};

CliRun run(const std::string& args) {
  CliRun r;
  FILE* pipe = ::popen(("tools/sim/distkit-sim " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(DistkitSim, BadInputGetsAMessageAndExitStatus2) {
  const std::map<std::string, std::string> cases = {
      {"--primitive nope", "unknown primitive 'nope'"},
      {"--faults floods", "unknown fault profile 'floods'"},
      {"--duration 10", "bad duration '10'"},
      {"--instances 0", "instances must be in [1, 64]"},
      {"--workload spiky", "unknown workload 'spiky'"},
      {"--seeds 0", "--seeds must be in"},
      {"--schedule 'garbage here'", "distkit-sim:"},
      {"--seeds 2 --schedule '1s heal-all'", "--schedule replays one seed"},
      {"--no-such-flag", "no-such-flag"},
      {"--instances many", "many"},
      {"--backend redis://127.0.0.1:1 --duration 1s --report ''", "no Redis at"},
      {"--primitive raft-kv --members 8", "members must be in [1, 7]"},
      {"--primitive raft-kv --redis cluster:3", "runs on a Raft group"},
      {"--primitive raft-counter --backend redis://127.0.0.1:1", "simulated Raft group"},
  };
  for (const auto& [args, message] : cases) {
    CliRun r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
  CliRun list = run("--list");
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.output.find("hybrid-window"), std::string::npos);
}

TEST(DistkitSim, ASeedReplaysToTheSameSummaryAndWritesTheReport) {
  const std::string report = std::string(std::getenv("TEST_TMPDIR")) + "/report.html";
  const std::string args =
      "-q --primitive lax-counter,sliding-window --instances 3 --faults partitions,clock-skew "
      "--duration 15s --seeds 2 --report " +
      report;
  CliRun a = run(args);
  CliRun b = run(args);
  ASSERT_EQ(a.status, 0) << a.output;
  const auto table = [](const std::string& out) {
    // The summary rows without the speed column (wall time varies).
    std::string rows;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("lax-counter ") || line.starts_with("sliding-window ")) {
        std::istringstream fields(line);
        std::string f;
        for (int i = 0; fields >> f; ++i) {
          if (i != 6) rows += f + " ";
        }
        rows += "\n";
      }
    }
    return rows;
  };
  EXPECT_EQ(table(a.output).size() > 0, true) << a.output;
  EXPECT_EQ(table(a.output), table(b.output));
  std::ifstream in(report);
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_TRUE(html.str().starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.str().find("sliding-window"), std::string::npos);
  EXPECT_NE(a.output.find("report: " + report), std::string::npos);
}

}  // namespace
}  // namespace distkit::scenario
