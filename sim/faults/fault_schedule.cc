#include "distkit/sim/faults/fault_schedule.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "distkit/sim/world/cluster_control.h"

namespace distkit::sim {
namespace {

struct KindInfo {
  FaultKind kind;
  std::string_view name;
  int nodes;  // how many node ids it takes
  bool has_value;
  bool server_only;  // `a` must be a Redis server
};

constexpr KindInfo kKinds[] = {
    {FaultKind::kPartition, "partition", 2, false, false},
    {FaultKind::kPartitionOneWay, "partition-one-way", 2, false, false},
    {FaultKind::kIsolate, "isolate", 1, false, false},
    {FaultKind::kHeal, "heal", 2, false, false},
    {FaultKind::kHealAll, "heal-all", 0, false, false},
    {FaultKind::kLoss, "loss", 2, true, false},
    {FaultKind::kSlowLink, "slow-link", 2, true, false},
    {FaultKind::kResetConnections, "reset-connections", 1, false, false},
    {FaultKind::kCrash, "crash", 1, false, false},
    {FaultKind::kRestart, "restart", 1, false, false},
    {FaultKind::kRestartNewIdentity, "restart-new-identity", 1, false, false},
    {FaultKind::kPause, "pause", 1, false, false},
    {FaultKind::kResume, "resume", 1, false, false},
    {FaultKind::kClockOffset, "clock-offset", 1, true, false},
    {FaultKind::kClockDrift, "clock-drift", 1, true, false},
    {FaultKind::kClockJump, "clock-jump", 1, true, false},
    {FaultKind::kRedisRestart, "redis-restart", 1, true, true},
    {FaultKind::kScriptFlush, "script-flush", 1, false, true},
    {FaultKind::kSlowServer, "slow-server", 1, true, true},
    {FaultKind::kRedisLoading, "redis-loading", 1, true, true},
    {FaultKind::kRedisBusy, "redis-busy", 1, true, true},
    {FaultKind::kRedisOom, "redis-oom", 1, true, true},
    {FaultKind::kRedisReadonly, "redis-readonly", 1, true, true},
    {FaultKind::kRedisMasterDown, "redis-masterdown", 1, true, true},
    {FaultKind::kClusterMigrate, "cluster-migrate", 1, true, true},
    {FaultKind::kClusterFailover, "cluster-failover", 1, true, true},
    {FaultKind::kCrashTorn, "crash-torn", 1, false, false},
    {FaultKind::kDuplicate, "duplicate", 2, true, false},
    {FaultKind::kDiskSlow, "disk-slow", 1, true, false},
    {FaultKind::kDiskFail, "disk-fail", 1, true, false},
};

}  // namespace

ServerCondition server_condition_of(FaultKind kind) {
  switch (kind) {
    case FaultKind::kRedisLoading:
      return ServerCondition::kLoading;
    case FaultKind::kRedisBusy:
      return ServerCondition::kBusyScript;
    case FaultKind::kRedisOom:
      return ServerCondition::kOutOfMemory;
    case FaultKind::kRedisReadonly:
      return ServerCondition::kReadOnly;
    case FaultKind::kRedisMasterDown:
      return ServerCondition::kMasterDown;
    default:
      return ServerCondition::kNormal;
  }
}

namespace {

const KindInfo& info(FaultKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[4];  // unreachable for valid enums
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

template <typename Int>
bool parse_int(std::string_view s, Int& out) {
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), out);
  return error == std::errc() && end == s.data() + s.size();
}

std::int64_t millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

std::string_view fault_kind_name(FaultKind kind) {
  return info(kind).name;
}
int fault_node_count(FaultKind kind) {
  return info(kind).nodes;
}
bool fault_has_value(FaultKind kind) {
  return info(kind).has_value;
}

std::string to_string(const FaultSchedule& schedule) {
  std::string out;
  for (const FaultEvent& e : schedule.events) {
    if (!out.empty()) out += "; ";
    const KindInfo& k = info(e.kind);
    out += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(e.at).count());
    out += "us ";
    out += k.name;
    if (k.nodes >= 1) out += " " + std::to_string(e.a);
    if (k.nodes >= 2) out += " " + std::to_string(e.b);
    if (k.has_value) out += " " + std::to_string(e.value);
  }
  return out;
}

Result<FaultSchedule> parse_fault_schedule(std::string_view text) {
  FaultSchedule schedule;
  if (trim(text).empty()) return schedule;
  for (std::string_view item : split(text, ';')) {
    item = trim(item);
    std::vector<std::string_view> words;
    for (std::string_view w : split(item, ' ')) {
      if (!w.empty()) words.push_back(w);
    }
    auto bad = [&](std::string_view why) {
      return invalid_argument_error("fault \"" + std::string(item) + "\": " + std::string(why));
    };
    if (words.size() < 2) return bad("expected \"<time>us <kind> [nodes] [value]\"");
    std::string_view time = words[0];
    std::int64_t micros = 0;
    if (!time.ends_with("us") || !parse_int(time.substr(0, time.size() - 2), micros) ||
        micros < 0) {
      return bad("time must look like 1500us");
    }
    const KindInfo* kind = nullptr;
    for (const KindInfo& k : kKinds) {
      if (k.name == words[1]) kind = &k;
    }
    if (kind == nullptr) return bad("unknown fault kind");
    const std::size_t expected = 2 + kind->nodes + (kind->has_value ? 1 : 0);
    if (words.size() != expected) {
      return bad("expects " + std::to_string(kind->nodes) + " node id(s)" +
                 (kind->has_value ? " and a value" : ""));
    }
    FaultEvent event;
    event.at = std::chrono::microseconds(micros);
    event.kind = kind->kind;
    if (kind->nodes >= 1 && !parse_int(words[2], event.a)) return bad("bad node id");
    if (kind->nodes >= 2 && !parse_int(words[3], event.b)) return bad("bad node id");
    if (kind->has_value && !parse_int(words.back(), event.value)) return bad("bad value");
    schedule.events.push_back(event);
  }
  return schedule;
}

std::string describe(const FaultSchedule& schedule, const World& world) {
  std::string out;
  const auto node_name = [&](NodeId id) {
    return id < world.nodes().size() ? world.name(id) : "#" + std::to_string(id);
  };
  for (const FaultEvent& e : schedule.events) {
    const KindInfo& k = info(e.kind);
    char time[32];
    std::snprintf(time, sizeof time, "%10.3fs  ", std::chrono::duration<double>(e.at).count());
    out += time;
    out += k.name;
    if (k.nodes >= 1) out += " " + node_name(e.a);
    if (k.nodes >= 2) out += " " + node_name(e.b);
    if (k.has_value) out += " " + std::to_string(e.value);
    out += "\n";
  }
  return out;
}

Status validate(const FaultSchedule& schedule, const World& world) {
  const std::size_t node_count = world.nodes().size();
  for (const FaultEvent& e : schedule.events) {
    const KindInfo& k = info(e.kind);
    const std::string where =
        "fault " + std::string(k.name) + " at " + std::to_string(millis(e.at)) + "ms: ";
    if (e.at < Duration(0)) return invalid_argument_error(where + "negative time");
    if ((k.nodes >= 1 && e.a >= node_count) || (k.nodes >= 2 && e.b >= node_count)) {
      return invalid_argument_error(where + "no such node");
    }
    if (k.nodes >= 2 && e.a == e.b) return invalid_argument_error(where + "a node and itself");
    const bool disk_kind = e.kind == FaultKind::kCrashTorn || e.kind == FaultKind::kDiskSlow ||
                           e.kind == FaultKind::kDiskFail;
    if (disk_kind && world.is_server(e.a)) {
      return invalid_argument_error(where + world.name(e.a) + " is a Redis server (no disk)");
    }
    if (k.server_only && !world.is_server(e.a)) {
      return invalid_argument_error(where + world.name(e.a) + " is not a Redis server");
    }
    const bool cluster_kind =
        e.kind == FaultKind::kClusterMigrate || e.kind == FaultKind::kClusterFailover;
    if (cluster_kind && (world.cluster() == nullptr || !world.cluster()->is_member(e.a))) {
      return invalid_argument_error(where + world.name(e.a) + " is not a cluster node");
    }
    switch (e.kind) {
      case FaultKind::kLoss:
        if (e.value < 0 || e.value > 1000) return invalid_argument_error(where + "loss in 0..1000");
        break;
      case FaultKind::kClusterMigrate:
        if (e.value < -1 || e.value > 16383) {
          return invalid_argument_error(where + "a slot in 0..16383, or -1 for the fullest");
        }
        break;
      case FaultKind::kClusterFailover:
        if (e.value < 0 || e.value > 2) {
          return invalid_argument_error(where + "failover mode in 0..2");
        }
        break;
      case FaultKind::kClockDrift:
        if (e.value <= -500'000 || e.value >= 1'000'000) {
          return invalid_argument_error(where + "drift in (-500000, 1000000) ppm");
        }
        break;
      case FaultKind::kRedisRestart:
        if (e.value < 0 || e.value > 2) return invalid_argument_error(where + "data loss in 0..2");
        break;
      case FaultKind::kDuplicate:
        if (e.value < 0 || e.value > 1000)
          return invalid_argument_error(where + "duplication in 0..1000");
        break;
      case FaultKind::kDiskSlow:
        if (e.value < 0 || e.value > 60'000) return invalid_argument_error(where + "0..60000 ms");
        break;
      case FaultKind::kDiskFail:
        if (e.value < 1 || e.value > 3'600'000)
          return invalid_argument_error(where + "a length in 1..3600000 ms");
        break;
      case FaultKind::kSlowLink:
      case FaultKind::kSlowServer:
        if (e.value < 0) return invalid_argument_error(where + "negative delay");
        break;
      default:
        if (server_condition_of(e.kind) != ServerCondition::kNormal &&
            (e.value < 1 || e.value > 3'600'000)) {
          return invalid_argument_error(where + "a length in 1..3600000 ms");
        }
        break;
    }
  }
  return Status();
}

namespace {

void apply_one(const FaultEvent& e, World& world) {
  switch (e.kind) {
    case FaultKind::kPartition:
      world.partition(e.a, e.b);
      return;
    case FaultKind::kPartitionOneWay:
      world.partition_one_way(e.a, e.b);
      return;
    case FaultKind::kIsolate:
      world.isolate(e.a);
      return;
    case FaultKind::kHeal:
      world.heal(e.a, e.b);
      return;
    case FaultKind::kHealAll:
      world.heal_all();
      return;
    case FaultKind::kLoss:
    case FaultKind::kSlowLink: {
      LinkConfig config;
      if (e.kind == FaultKind::kLoss) {
        config.loss = static_cast<double>(e.value) / 1000.0;
      } else {
        config.latency.min += std::chrono::microseconds(e.value);
        config.latency.max += std::chrono::microseconds(e.value);
      }
      world.set_link_both(e.a, e.b, config);
      return;
    }
    case FaultKind::kResetConnections:
      world.reset_connections(e.a);
      return;
    case FaultKind::kCrash:
      // A node with a disk loses what it had not synced (power loss).
      if (world.has_disk(e.a)) {  // (servers have none)
        world.crash(e.a, CrashLoss::kEverythingUnsynced);
      } else {
        world.crash(e.a);
      }
      return;
    case FaultKind::kCrashTorn:
      world.crash(e.a, CrashLoss::kTornSectors);
      return;
    case FaultKind::kDuplicate:
      world.set_link_both(e.a, e.b, LinkConfig{.duplicate = static_cast<double>(e.value) / 1000.0});
      return;
    case FaultKind::kDiskSlow:
      world.set_disk_slowdown(e.a, std::chrono::milliseconds(e.value));
      return;
    case FaultKind::kDiskFail:
      world.fail_disk_syncs(e.a, std::chrono::milliseconds(e.value));
      return;
    case FaultKind::kRestart:
    case FaultKind::kRestartNewIdentity:
      // A restart of a running node is a crash followed by a restart.
      world.crash(e.a);
      world.restart(e.a, e.kind == FaultKind::kRestart ? Identity::kSame : Identity::kNew);
      return;
    case FaultKind::kPause:
      world.pause(e.a);
      return;
    case FaultKind::kResume:
      world.resume(e.a);
      return;
    case FaultKind::kClockOffset:
      world.set_clock_offset(e.a, std::chrono::milliseconds(e.value));
      return;
    case FaultKind::kClockDrift:
      world.set_clock_drift_ppm(e.a, e.value);
      return;
    case FaultKind::kClockJump:
      world.jump_clock(e.a, std::chrono::milliseconds(e.value));
      return;
    case FaultKind::kRedisRestart:
      world.restart_redis(e.a, static_cast<DataLoss>(e.value));
      return;
    case FaultKind::kScriptFlush:
      world.flush_scripts(e.a);
      return;
    case FaultKind::kSlowServer:
      world.set_server_slowdown(e.a, std::chrono::microseconds(e.value));
      return;
    case FaultKind::kRedisLoading:
    case FaultKind::kRedisBusy:
    case FaultKind::kRedisOom:
    case FaultKind::kRedisReadonly:
    case FaultKind::kRedisMasterDown:
      world.set_server_condition(e.a, server_condition_of(e.kind),
                                 std::chrono::milliseconds(e.value));
      return;
    case FaultKind::kClusterMigrate:
    case FaultKind::kClusterFailover:
      // validate() rules these out; a replay that skipped it must not crash.
      if (world.cluster() == nullptr || !world.cluster()->is_member(e.a)) return;
      if (e.kind == FaultKind::kClusterMigrate) {
        world.cluster()->migrate(e.a,
                                 static_cast<int>(std::clamp<std::int64_t>(e.value, -1, 16383)));
      } else {
        world.cluster()->failover(
            e.a, static_cast<FailoverMode>(std::clamp<std::int64_t>(e.value, 0, 2)));
      }
      return;
  }
}

}  // namespace

void apply(const FaultSchedule& schedule, World& world) {
  const SimTime start = world.now();
  for (const FaultEvent& e : schedule.events) {
    world.schedule(start + e.at, [e, &world] { apply_one(e, world); });
  }
}

void heal_everything(World& world) {
  world.heal_all();
  for (NodeId id : world.nodes()) {
    if (world.paused(id)) world.resume(id);
    if (!world.alive(id)) world.restart(id, Identity::kSame);
    world.set_clock_drift_ppm(id, 0);
    if (!world.is_server(id) && world.has_disk(id)) world.heal_disk(id);
    if (world.is_server(id)) {
      world.set_server_slowdown(id, Duration(0));
      world.set_server_condition(id, ServerCondition::kNormal, Duration(0));
    }
  }
}

void run_chaos_then_heal(World& world, const FaultSchedule& schedule, Duration chaos,
                         Duration healing) {
  const SimTime start = world.now();
  FaultSchedule during_chaos;
  for (const FaultEvent& e : schedule.events) {
    if (e.at < chaos) during_chaos.events.push_back(e);
  }
  apply(during_chaos, world);
  world.run_until(start + chaos);
  heal_everything(world);
  world.run_for(healing);
}

}  // namespace distkit::sim
