#include "distkit/sim/faults/fault_generator.h"

#include <algorithm>
#include <utility>

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;

constexpr std::pair<FaultProfile, std::string_view> kProfiles[] = {
    {FaultProfile::kNone, "none"},
    {FaultProfile::kPartitions, "partitions"},
    {FaultProfile::kLossyNetwork, "lossy-network"},
    {FaultProfile::kDeadInstances, "dead-instances"},
    {FaultProfile::kClockSkew, "clock-skew"},
    {FaultProfile::kRedisRestarts, "redis-restarts"},
    {FaultProfile::kRedisErrors, "redis-errors"},
    {FaultProfile::kClusterChanges, "cluster-changes"},
    {FaultProfile::kDisk, "disk"},
    {FaultProfile::kAll, "all"},
};

std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

}  // namespace

std::string profile_name(FaultProfile profile) {
  if (profile == FaultProfile::kNone) return "none";
  if (profile == FaultProfile::kAll) return "all";
  std::string names;
  for (const auto& [p, name] : kProfiles) {
    if (p != FaultProfile::kNone && p != FaultProfile::kAll && has(profile, p))
      names += (names.empty() ? "" : ",") + std::string(name);
  }
  return names;
}

Result<FaultProfile> parse_profile(std::string_view names) {
  FaultProfile set = FaultProfile::kNone;
  if (names.empty()) return invalid_argument_error("empty fault profile");
  while (!names.empty()) {
    const std::size_t comma = names.find(',');
    const std::string_view name = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    bool found = false;
    for (const auto& [p, n] : kProfiles) {
      if (n == name) {
        set = set | p;
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (const auto& [p, n] : kProfiles)
        known += (known.empty() ? "" : ", ") + std::string(n);
      return invalid_argument_error("unknown fault profile '" + std::string(name) +
                                    "' (one or more of " + known + ", comma-separated)");
    }
  }
  return set;
}

FaultSchedule generate_fault_schedule(const FaultPlan& plan, FaultChoices& choose) {
  FaultSchedule schedule;
  const std::int64_t total_ms = std::max<std::int64_t>(1, to_ms(plan.chaos));
  const std::int64_t shortest = std::max<std::int64_t>(1, to_ms(plan.shortest));
  const std::int64_t longest = std::max(shortest, to_ms(plan.longest));
  const auto pick = [&](const std::vector<NodeId>& ids) {
    return ids[static_cast<std::size_t>(
        choose.between(0, static_cast<std::int64_t>(ids.size()) - 1))];
  };
  const auto at = [](std::int64_t ms) { return Duration(milliseconds(ms)); };
  const auto add = [&](std::int64_t ms, FaultKind kind, NodeId a, NodeId b, std::int64_t value) {
    schedule.events.push_back(FaultEvent{at(ms), kind, a, b, value});
  };
  // A fault at a random time and its lifting `shortest` to `longest` later, unless the
  // chaos phase is over by then (healing lifts it).
  const auto episode = [&](auto&& begin, auto&& end) {
    const std::int64_t start = choose.between(0, total_ms - 1);
    const std::int64_t length = choose.between(shortest, longest);
    begin(start);
    if (start + length < total_ms) end(start + length);
  };
  // Whom an instance talks to: a server mostly, another instance sometimes (peers).
  const auto partner = [&](NodeId a) {
    std::vector<NodeId> others;
    for (NodeId id : plan.instances)
      if (id != a) others.push_back(id);
    if (others.empty() || (!plan.servers.empty() && choose.chance(0.8))) return pick(plan.servers);
    return pick(others);
  };
  const bool with_instances = !plan.instances.empty();
  const bool with_links = with_instances && (plan.instances.size() > 1 || !plan.servers.empty());
  const auto want = [&](FaultProfile p) { return has(plan.profile, p); };
  for (int round = 0; round < plan.rounds; ++round) {
    if (want(FaultProfile::kPartitions) && with_links) {
      const NodeId a = pick(plan.instances);
      const NodeId b = partner(a);
      const bool one_way = choose.chance(0.3);
      const bool outbound = choose.chance(0.5);
      episode(
          [&](std::int64_t t) {
            if (one_way) {
              add(t, FaultKind::kPartitionOneWay, outbound ? a : b, outbound ? b : a, 0);
            } else {
              add(t, FaultKind::kPartition, a, b, 0);
            }
          },
          [&](std::int64_t t) { add(t, FaultKind::kHeal, a, b, 0); });
    }
    if (want(FaultProfile::kLossyNetwork) && with_links) {
      const NodeId a = pick(plan.instances);
      const NodeId b = partner(a);
      const std::int64_t loss = choose.between(20, 400);
      episode([&](std::int64_t t) { add(t, FaultKind::kLoss, a, b, loss); },
              [&](std::int64_t t) { add(t, FaultKind::kLoss, a, b, 0); });
      if (choose.chance(0.5)) {
        const NodeId c = pick(plan.instances);
        const NodeId d = partner(c);
        const std::int64_t extra_us = choose.between(1000, 50'000);
        episode([&](std::int64_t t) { add(t, FaultKind::kSlowLink, c, d, extra_us); },
                [&](std::int64_t t) { add(t, FaultKind::kSlowLink, c, d, 0); });
      }
      if (choose.chance(0.3)) {
        add(choose.between(0, total_ms - 1), FaultKind::kResetConnections, pick(plan.instances), 0,
            0);
      }
    }
    if (want(FaultProfile::kDeadInstances) && with_instances) {
      const NodeId a = pick(plan.instances);
      if (choose.chance(0.6)) {
        const bool fresh = choose.chance(0.3);
        episode([&](std::int64_t t) { add(t, FaultKind::kCrash, a, 0, 0); },
                [&](std::int64_t t) {
                  add(t, fresh ? FaultKind::kRestartNewIdentity : FaultKind::kRestart, a, 0, 0);
                });
      } else {
        episode([&](std::int64_t t) { add(t, FaultKind::kPause, a, 0, 0); },
                [&](std::int64_t t) { add(t, FaultKind::kResume, a, 0, 0); });
      }
    }
    if (want(FaultProfile::kClockSkew) && with_instances) {
      // Instances only: a server's clock is the one the limiters and expiry trust.
      const NodeId a = pick(plan.instances);
      const std::int64_t t = choose.between(0, total_ms - 1);
      switch (choose.between(0, 2)) {
        case 0:
          add(t, FaultKind::kClockOffset, a, 0, choose.between(-2000, 2000));
          break;
        case 1:
          add(t, FaultKind::kClockDrift, a, 0, choose.between(-500, 500));
          break;
        default:
          add(t, FaultKind::kClockJump, a, 0, choose.between(-1000, 1000));
      }
    }
    // Under every kind at once, one round in three: restarts are the heaviest fault.
    if (want(FaultProfile::kRedisRestarts) && !plan.servers.empty() &&
        (round % 3 == 0 || without(plan.profile, FaultProfile::kClusterChanges) !=
                               without(FaultProfile::kAll, FaultProfile::kClusterChanges))) {
      const NodeId s = pick(plan.servers);
      const std::int64_t t = choose.between(0, total_ms - 1);
      switch (choose.between(0, 2)) {
        case 0:
          // Data kept (an AOF-backed Redis): losing acknowledged data is the deployment's
          // choice, not something a client library can make up for.
          add(t, FaultKind::kRedisRestart, s, 0, 0);
          break;
        case 1:
          add(t, FaultKind::kScriptFlush, s, 0, 0);
          break;
        default: {
          const std::int64_t extra_us = choose.between(100, 5000);
          episode([&](std::int64_t u) { add(u, FaultKind::kSlowServer, s, 0, extra_us); },
                  [&](std::int64_t u) { add(u, FaultKind::kSlowServer, s, 0, 0); });
        }
      }
    }
    if (want(FaultProfile::kRedisErrors) && !plan.servers.empty()) {
      // One condition for a while: the server refuses before running, so nothing is
      // written and the client sees the error.
      constexpr FaultKind kErrors[] = {FaultKind::kRedisLoading, FaultKind::kRedisBusy,
                                       FaultKind::kRedisOom, FaultKind::kRedisReadonly,
                                       FaultKind::kRedisMasterDown};
      const NodeId s = pick(plan.servers);
      const FaultKind kind = kErrors[choose.between(0, 4)];
      const std::int64_t t = choose.between(0, total_ms - 1);
      add(t, kind, s, 0, choose.between(shortest, longest));
    }
    // Drawn last in a round, and only with shards, so that schedules without a cluster
    // are what they were before clusters existed.
    if (want(FaultProfile::kClusterChanges) && !plan.shards.empty()) {
      const auto& shard = plan.shards[static_cast<std::size_t>(
          choose.between(0, static_cast<std::int64_t>(plan.shards.size()) - 1))];
      // Mostly the fullest slot: a random one rarely holds a key.
      const std::int64_t slot = choose.between(0, 4) < 4 ? -1 : choose.between(0, 16383);
      add(choose.between(0, total_ms - 1), FaultKind::kClusterMigrate, pick(shard), 0, slot);
      if (choose.chance(0.5)) {
        // Manual or automatic; never lossy: losing acknowledged writes is the
        // deployment's choice (as for redis-restart), not something a client can undo.
        const auto& failing = plan.shards[static_cast<std::size_t>(
            choose.between(0, static_cast<std::int64_t>(plan.shards.size()) - 1))];
        add(choose.between(0, total_ms - 1), FaultKind::kClusterFailover, pick(failing), 0,
            choose.between(0, 1));
      }
    }
    // Raft members, drawn after everything else, and only with members, so that other
    // schedules are what they were before Raft.
    if (!plan.members.empty()) {
      const auto other_member = [&](NodeId a) {
        NodeId b = a;
        while (b == a)
          b = pick(plan.members);
        return b;
      };
      const bool peers = plan.members.size() > 1;
      if (want(FaultProfile::kPartitions) && peers) {
        const NodeId a = pick(plan.members);
        const NodeId b = other_member(a);
        const bool one_way = choose.chance(0.3);
        episode(
            [&](std::int64_t t) {
              add(t, one_way ? FaultKind::kPartitionOneWay : FaultKind::kPartition, a, b, 0);
            },
            [&](std::int64_t t) { add(t, FaultKind::kHeal, a, b, 0); });
      }
      if (want(FaultProfile::kLossyNetwork) && peers) {
        const NodeId a = pick(plan.members);
        const NodeId b = other_member(a);
        if (choose.chance(0.5)) {
          const std::int64_t loss = choose.between(20, 400);
          episode([&](std::int64_t t) { add(t, FaultKind::kLoss, a, b, loss); },
                  [&](std::int64_t t) { add(t, FaultKind::kLoss, a, b, 0); });
        } else {
          const std::int64_t duplicate = choose.between(50, 300);
          episode([&](std::int64_t t) { add(t, FaultKind::kDuplicate, a, b, duplicate); },
                  [&](std::int64_t t) { add(t, FaultKind::kDuplicate, a, b, 0); });
        }
      }
      if (want(FaultProfile::kDeadInstances)) {
        const NodeId a = pick(plan.members);
        const bool torn = want(FaultProfile::kDisk) && choose.chance(0.5);
        episode(
            [&](std::int64_t t) {
              add(t, torn ? FaultKind::kCrashTorn : FaultKind::kCrash, a, 0, 0);
            },
            [&](std::int64_t t) { add(t, FaultKind::kRestart, a, 0, 0); });
      }
      if (want(FaultProfile::kClockSkew)) {
        // A member's clock drives its ticks: drift changes its election timing.
        add(choose.between(0, total_ms - 1), FaultKind::kClockDrift, pick(plan.members), 0,
            choose.between(-500, 500));
      }
      if (want(FaultProfile::kDisk)) {
        const NodeId a = pick(plan.members);
        if (choose.chance(0.6)) {
          const std::int64_t extra_ms = choose.between(5, 200);
          episode([&](std::int64_t t) { add(t, FaultKind::kDiskSlow, a, 0, extra_ms); },
                  [&](std::int64_t t) { add(t, FaultKind::kDiskSlow, a, 0, 0); });
        } else {
          add(choose.between(0, total_ms - 1), FaultKind::kDiskFail, a, 0,
              choose.between(shortest, longest));
        }
      }
    }
  }
  std::stable_sort(schedule.events.begin(), schedule.events.end(),
                   [](const FaultEvent& a, const FaultEvent& b) { return a.at < b.at; });
  return schedule;
}

}  // namespace distkit::sim
