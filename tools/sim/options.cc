// distkit-sim's options: durations, workload shapes, validation, and the registry of
// primitives a scenario can run.
#include <algorithm>
#include <charconv>
#include <chrono>

#include "distkit/tools/sim/scenario.h"
#include "tools/sim/scenario_internal.h"

namespace distkit::scenario {
namespace {

using std::chrono::milliseconds;

std::vector<PrimitiveInfo>& registry() {
  static std::vector<PrimitiveInfo> list = builtin_primitives();
  return list;
}

}  // namespace

std::string_view workload_name(WorkloadShape shape) {
  return shape == WorkloadShape::kSteady ? "steady" : "bursty";
}

Result<WorkloadShape> parse_workload(std::string_view name) {
  if (name == "steady") return WorkloadShape::kSteady;
  if (name == "bursty") return WorkloadShape::kBursty;
  return invalid_argument_error("unknown workload '" + std::string(name) + "' (steady or bursty)");
}

Result<Duration> parse_duration(std::string_view text) {
  const std::string original(text);
  if (text.empty()) return invalid_argument_error("empty duration");
  std::int64_t total_ms = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (error != std::errc() || end == text.data() || n < 0) {
      return invalid_argument_error("bad duration '" + original +
                                    "' (like 250ms, 90s, 5m, 1h, 1h30m)");
    }
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::int64_t unit = 0;
    for (auto [suffix, ms] : {std::pair<std::string_view, std::int64_t>{"ms", 1},
                              {"s", 1000},
                              {"m", 60'000},
                              {"h", 3'600'000}}) {
      if (text.starts_with(suffix) && !(suffix == "m" && text.starts_with("ms"))) {
        unit = ms;
        text.remove_prefix(suffix.size());
        break;
      }
    }
    if (unit == 0 || n > (std::int64_t{1} << 40) / unit) {
      return invalid_argument_error("bad duration '" + original +
                                    "' (like 250ms, 90s, 5m, 1h, 1h30m)");
    }
    total_ms += n * unit;
  }
  if (total_ms <= 0)
    return invalid_argument_error("a duration must be positive: '" + original + "'");
  return Duration(milliseconds(total_ms));
}

std::string format_duration(Duration d) {
  const std::int64_t ms = std::chrono::duration_cast<milliseconds>(d).count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<RedisTopology> parse_topology(std::string_view text) {
  if (text == "standalone") return RedisTopology{};
  const auto bad = [&text] {
    return invalid_argument_error("bad --redis '" + std::string(text) +
                                  "' (standalone, or cluster:N or cluster:NxR: N masters in "
                                  "1..16, each with R replicas in 0..3, 1 by default)");
  };
  if (!text.starts_with("cluster:")) return bad();
  std::string_view rest = text.substr(8);
  RedisTopology topology;
  auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), topology.masters);
  if (error != std::errc() || end == rest.data()) return bad();
  rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
  if (!rest.empty()) {
    if (rest.front() != 'x') return bad();
    rest.remove_prefix(1);
    auto [end2, error2] =
        std::from_chars(rest.data(), rest.data() + rest.size(), topology.replicas);
    if (error2 != std::errc() || end2 != rest.data() + rest.size() || end2 == rest.data()) {
      return bad();
    }
  }
  if (topology.masters < 1 || topology.masters > 16 || topology.replicas < 0 ||
      topology.replicas > 3) {
    return bad();
  }
  return topology;
}

std::string topology_name(const RedisTopology& topology) {
  if (!topology.cluster()) return "standalone";
  return "cluster:" + std::to_string(topology.masters) + "x" + std::to_string(topology.replicas);
}

Status ScenarioOptions::validate() const {
  if (find_primitive(primitive) == nullptr) {
    std::string known;
    for (const PrimitiveInfo& p : primitives())
      known += (known.empty() ? "" : ", ") + p.name;
    return invalid_argument_error("unknown primitive '" + primitive + "' (one of " + known + ")");
  }
  if (instances < 1 || instances > 64) {
    return invalid_argument_error("instances must be in [1, 64], not " + std::to_string(instances));
  }
  if (!(rate > 0 && rate <= 10'000)) {
    return invalid_argument_error("rate must be in (0, 10000] operations per second per instance");
  }
  if (keys < 1 || keys > 1000) return invalid_argument_error("keys must be in [1, 1000]");
  if (duration < milliseconds(100) || duration > std::chrono::hours(24 * 7)) {
    return invalid_argument_error("duration must be between 100ms and 168h");
  }
  if (redis.cluster() && (redis.masters > 16 || redis.replicas < 0 || redis.replicas > 3)) {
    return invalid_argument_error("a cluster has 1..16 masters with 0..3 replicas each");
  }
  if (samples < 2 || samples > 100'000)
    return invalid_argument_error("samples must be in [2, 100000]");
  if (find_primitive(primitive)->backend == Backend::kRaft) {
    if (members < 1 || members > 7)
      return invalid_argument_error("members must be in [1, 7], not " + std::to_string(members));
    if (redis.cluster())
      return invalid_argument_error(primitive + " runs on a Raft group, not on Redis: no --redis");
  }
  return Status();
}

Series& Timeline::get(const std::string& name, bool truth) {
  for (Series& s : series) {
    if (s.name == name) return s;
  }
  series.push_back({name, {}, truth});
  return series.back();
}

const std::vector<PrimitiveInfo>& primitives() {
  return registry();
}

void register_primitive(PrimitiveInfo info) {
  auto& list = registry();
  std::erase_if(list, [&](const PrimitiveInfo& p) { return p.name == info.name; });
  list.push_back(std::move(info));
}

const PrimitiveInfo* find_primitive(std::string_view name) {
  for (const PrimitiveInfo& p : registry()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace distkit::scenario
