#include "distkit/sim/harness/harness.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace distkit::sim::harness {
namespace {

using std::chrono::microseconds;

rc::Gen<NodeId> pick(const std::vector<NodeId>& ids) {
  return rc::gen::elementOf(ids);
}

}  // namespace

rc::Gen<FaultSchedule> gen_fault_schedule(std::vector<NodeId> instances,
                                          std::vector<NodeId> servers, Duration chaos,
                                          FaultMix mix) {
  std::vector<NodeId> all = instances;
  all.insert(all.end(), servers.begin(), servers.end());
  const std::int64_t chaos_us = std::chrono::duration_cast<microseconds>(chaos).count();

  std::vector<FaultKind> kinds;
  if (mix.partitions) {
    kinds.insert(kinds.end(), {FaultKind::kPartition, FaultKind::kPartitionOneWay,
                               FaultKind::kIsolate, FaultKind::kHeal, FaultKind::kHealAll});
  }
  if (mix.loss) kinds.insert(kinds.end(), {FaultKind::kLoss, FaultKind::kSlowLink});
  if (mix.resets) kinds.push_back(FaultKind::kResetConnections);
  if (mix.crashes && !instances.empty()) {
    kinds.insert(kinds.end(),
                 {FaultKind::kCrash, FaultKind::kRestart, FaultKind::kRestartNewIdentity});
  }
  if (mix.pauses) kinds.insert(kinds.end(), {FaultKind::kPause, FaultKind::kResume});
  if (mix.clocks) {
    kinds.insert(kinds.end(),
                 {FaultKind::kClockOffset, FaultKind::kClockDrift, FaultKind::kClockJump});
  }
  if (!servers.empty()) {
    if (mix.redis_restarts) kinds.push_back(FaultKind::kRedisRestart);
    if (mix.script_flushes) kinds.push_back(FaultKind::kScriptFlush);
    if (mix.slow_servers) kinds.push_back(FaultKind::kSlowServer);
  }
  if (kinds.empty()) kinds.push_back(FaultKind::kHealAll);

  auto gen_event = rc::gen::apply(
      [=](FaultKind kind, std::int64_t at_us, NodeId a, NodeId b, NodeId instance, NodeId server,
          std::int64_t magnitude) {
        FaultEvent e;
        e.at = microseconds(at_us);
        e.kind = kind;
        e.a = a;
        e.b = b;
        switch (kind) {
          case FaultKind::kPartition:
          case FaultKind::kPartitionOneWay:
          case FaultKind::kHeal:
          case FaultKind::kLoss:
          case FaultKind::kSlowLink:
            // Links between an instance and a server, or two distinct nodes.
            e.a = instance;
            e.b = server != instance ? server : b;
            if (e.a == e.b) e.kind = FaultKind::kHealAll;
            break;
          case FaultKind::kCrash:
          case FaultKind::kRestart:
          case FaultKind::kRestartNewIdentity:
            e.a = instance;
            break;
          case FaultKind::kRedisRestart:
          case FaultKind::kScriptFlush:
          case FaultKind::kSlowServer:
            e.a = server;
            break;
          default:
            break;
        }
        switch (e.kind) {
          case FaultKind::kLoss:
            e.value = magnitude % 1001;
            break;
          case FaultKind::kSlowLink:
            e.value = magnitude % 200'000;  // up to 200 ms
            break;
          case FaultKind::kClockOffset:
          case FaultKind::kClockJump:
            e.value = magnitude % 20'001 - 10'000;  // +-10 s
            break;
          case FaultKind::kClockDrift:
            e.value = magnitude % 2'001 - 1'000;  // +-1000 ppm
            break;
          case FaultKind::kRedisRestart:
            e.value = magnitude % 3;
            break;
          case FaultKind::kSlowServer:
            e.value = magnitude % 50'000;  // up to 50 ms per command
            break;
          default:
            e.value = 0;
        }
        // Canonical form: fields the kind does not take are 0.
        if (fault_node_count(e.kind) < 2) e.b = 0;
        if (fault_node_count(e.kind) < 1) e.a = 0;
        if (!fault_has_value(e.kind)) e.value = 0;
        return e;
      },
      rc::gen::elementOf(kinds),
      rc::gen::inRange<std::int64_t>(0, std::max<std::int64_t>(chaos_us, 1)), pick(all), pick(all),
      instances.empty() ? pick(all) : pick(instances), servers.empty() ? pick(all) : pick(servers),
      rc::gen::inRange<std::int64_t>(0, 1'000'000));

  return rc::gen::map(rc::gen::container<std::vector<FaultEvent>>(gen_event),
                      [max_events = mix.max_events](std::vector<FaultEvent> events) {
                        if (events.size() > max_events) events.resize(max_events);
                        std::stable_sort(
                            events.begin(), events.end(),
                            [](const FaultEvent& x, const FaultEvent& y) { return x.at < y.at; });
                        return FaultSchedule{std::move(events)};
                      });
}

std::optional<Replay> replay_from_environment() {
  const char* seed_text = std::getenv("DISTKIT_SIM_SEED");
  if (seed_text == nullptr || *seed_text == '\0') return std::nullopt;
  Replay replay;
  const char* end = seed_text + std::char_traits<char>::length(seed_text);
  auto [ptr, error] = std::from_chars(seed_text, end, replay.seed);
  if (error != std::errc() || ptr != end) {
    std::fprintf(stderr, "DISTKIT_SIM_SEED=%s is not an unsigned integer\n", seed_text);
    std::abort();
  }
  const char* schedule_text = std::getenv("DISTKIT_SIM_SCHEDULE");
  Result<FaultSchedule> schedule = parse_fault_schedule(schedule_text ? schedule_text : "");
  if (!schedule.ok()) {
    std::fprintf(stderr, "DISTKIT_SIM_SCHEDULE: %s\n", schedule.status().to_string().c_str());
    std::abort();
  }
  replay.schedule = std::move(*schedule);
  return replay;
}

std::string failure_report(std::string_view target, std::uint64_t seed,
                           const FaultSchedule& schedule, const World& world) {
  const std::string text = to_string(schedule);
  std::string out = "simulation failed: seed=" + std::to_string(seed) + "\n";
  out += "faults:\n" + describe(schedule, world);
  out += "replay: bazel test " + std::string(target) +
         " --test_env=DISTKIT_SIM_SEED=" + std::to_string(seed) +
         " --test_env=DISTKIT_SIM_SCHEDULE='" + text + "'\n";
  return out;
}

}  // namespace distkit::sim::harness
