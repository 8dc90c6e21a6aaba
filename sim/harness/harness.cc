#include "distkit/sim/harness/harness.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace distkit::sim::harness {
namespace {

// Draws through RapidCheck (inside rc::gen::exec), which records each draw and shrinks
// it toward its lower bound.
class RapidCheckChoices final : public FaultChoices {
 public:
  std::int64_t between(std::int64_t lo, std::int64_t hi) override {
    // RapidCheck grows the range with the test's size: early cases are mild (few
    // rounds, the same chance() outcomes) and later ones wilder. Drawing at full size
    // from the start made some strict-counter histories too costly to check (300 s).
    return *rc::gen::inRange<std::int64_t>(lo, hi + 1);
  }
};

}  // namespace

rc::Gen<FaultSchedule> gen_fault_schedule(std::vector<NodeId> instances,
                                          std::vector<NodeId> servers, Duration chaos,
                                          FaultProfile profile, int max_rounds,
                                          std::vector<std::vector<NodeId>> shards) {
  return rc::gen::exec([instances = std::move(instances), servers = std::move(servers),
                        shards = std::move(shards), chaos, profile, max_rounds] {
    RapidCheckChoices choices;
    FaultPlan plan{.instances = instances,
                   .servers = servers,
                   .shards = shards,
                   .chaos = chaos,
                   .profile = profile,
                   .rounds = static_cast<int>(choices.between(0, max_rounds)),
                   .shortest = chaos / 20,
                   .longest = chaos / 2};
    return generate_fault_schedule(plan, choices);
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
