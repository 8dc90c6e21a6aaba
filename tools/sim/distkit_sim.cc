// distkit-sim: runs a scenario (a primitive, instances, a workload, a fault profile,
// a simulated duration) for one or more seeds, checks the primitive's invariant,
// prints a summary table, and writes an HTML report. On a violation it shrinks the
// fault schedule, prints the seed and the one-line replay command, and writes the
// trace. Exit status: 0 every invariant held, 1 a violation, 2 bad input.
//
//   bazel run //tools/sim:distkit-sim -- --primitive lax-counter --instances 10
//       --faults partitions --duration 1h --seeds 3   (one line)
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "distkit/sim/world/rng.h"
#include "distkit/tools/sim/report.h"
#include "distkit/tools/sim/scenario.h"

namespace {

using namespace distkit;
using namespace distkit::scenario;

// Relative paths are the user's: `bazel run` starts us in the runfiles tree.
std::filesystem::path user_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p;
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"))
    return std::filesystem::path(dir) / p;
  return p;
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out.flush());
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Row {
  std::string primitive;
  int seeds = 0;
  double simulated = 0, wall = 0;
  std::uint64_t events = 0, operations = 0;
  int violations = 0;
  std::uint64_t hash = 0;  // of every seed's trace hash, in order
};

void print_table(const std::vector<Row>& rows, bool simulated) {
  std::printf("\n%-18s %6s %12s %12s %12s %10s %12s  %s\n", "primitive", "seeds",
              simulated ? "simulated" : "real time", "events", "operations", "violations", "speed",
              "trace hash");
  for (const Row& r : rows) {
    char speed[32] = "-";
    if (simulated && r.wall > 0) std::snprintf(speed, sizeof speed, "%.0fx", r.simulated / r.wall);
    std::printf("%-18s %6d %11.1fs %12llu %12llu %10d %12s  %016llx\n", r.primitive.c_str(),
                r.seeds, r.simulated, static_cast<unsigned long long>(r.events),
                static_cast<unsigned long long>(r.operations), r.violations, speed,
                static_cast<unsigned long long>(r.hash));
  }
  if (simulated) std::printf("(speed: simulated seconds per wall second)\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "distkit-sim: a primitive under a workload and faults in the deterministic simulator"};
  std::string primitive_list = "lax-counter";
  std::string workload = "steady", faults = "all", duration = "60s", redis = "standalone";
  std::string schedule_text, report_path = "distkit-sim-report.html", trace_path, backend;
  ScenarioOptions base;
  int seeds = 1;
  std::uint64_t first_seed = 1;
  int shrink_runs = 200;
  bool list = false, quiet = false;
  app.add_option("-p,--primitive", primitive_list, "what to run, comma-separated (see --list)")
      ->capture_default_str();
  app.add_option("-n,--instances", base.instances, "instances (1-64)")->capture_default_str();
  app.add_option("--members", base.members,
                 "Raft primitives: members of the group (1-7; the instances are its clients)")
      ->capture_default_str();
  app.add_option("-w,--workload", workload, "steady or bursty")->capture_default_str();
  app.add_option("--rate", base.rate, "operations per second per instance")->capture_default_str();
  app.add_option("--keys", base.keys, "distinct keys")->capture_default_str();
  app.add_option("-f,--faults", faults,
                 "none, all, or a comma-separated list of partitions, lossy-network, "
                 "dead-instances, clock-skew, redis-restarts, redis-errors, cluster-changes, "
                 "disk")
      ->capture_default_str();
  app.add_option("--redis", redis,
                 "standalone, or cluster:N[xR]: a simulated Redis Cluster of N masters with R "
                 "replicas each (default 1), through the cluster client")
      ->capture_default_str();
  app.add_option("-d,--duration", duration, "simulated chaos time (250ms, 90s, 5m, 1h)")
      ->capture_default_str();
  app.add_option("--seeds", seeds, "how many seeds, from --seed on")->capture_default_str();
  app.add_option("-s,--seed", first_seed, "the first seed (or the one to replay)")
      ->capture_default_str();
  app.add_option("--schedule", schedule_text,
                 "replay this fault schedule (as printed) instead of the seed's");
  app.add_option("--report", report_path, "HTML report to write ('' for none)")
      ->capture_default_str();
  app.add_option("--trace", trace_path, "where to write a violation's trace");
  app.add_option("--shrink-runs", shrink_runs, "runs the shrinker may spend")
      ->capture_default_str();
  app.add_option("--backend", backend,
                 "redis://host:port: the same workload on a real Redis, without faults");
  app.add_flag("--list", list, "list the primitives and exit");
  app.add_flag("-q,--quiet", quiet, "no progress line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (list) {
    for (const PrimitiveInfo& p : primitives())
      std::printf("%-18s %s\n", p.name.c_str(), p.description.c_str());
    return 0;
  }
  const auto fail = [](const std::string& message) {
    std::fprintf(stderr, "distkit-sim: %s\n", message.c_str());
    return 2;
  };
  Result<WorkloadShape> shape = parse_workload(workload);
  if (!shape.ok()) return fail(shape.status().message());
  Result<FaultProfile> profile = parse_profile(faults);
  if (!profile.ok()) return fail(profile.status().message());
  Result<Duration> chaos = parse_duration(duration);
  if (!chaos.ok()) return fail(chaos.status().message());
  Result<RedisTopology> topology = parse_topology(redis);
  if (!topology.ok()) return fail(topology.status().message());
  base.redis = *topology;
  if (seeds < 1 || seeds > 1'000'000) return fail("--seeds must be in [1, 1000000]");
  if (shrink_runs < 0) return fail("--shrink-runs must not be negative");
  base.workload = *shape;
  base.faults = *profile;
  base.duration = *chaos;
  if (!schedule_text.empty()) {
    if (seeds != 1) return fail("--schedule replays one seed: drop --seeds");
    Result<sim::FaultSchedule> schedule = sim::parse_fault_schedule(schedule_text);
    if (!schedule.ok()) return fail(schedule.status().message());
    base.schedule = *schedule;
  }
  const std::vector<std::string> names = split(primitive_list);
  if (names.empty()) return fail("--primitive names nothing");
  for (const std::string& name : names) {
    ScenarioOptions o = base;
    o.primitive = name;
    if (Status s = o.validate(); !s.ok()) return fail(s.message());
    if (!backend.empty() && find_primitive(name)->backend == Backend::kRaft)
      return fail(name + " runs on a simulated Raft group: --backend is for Redis primitives");
  }
  if (!backend.empty() && base.redis.cluster()) {
    return fail("--redis cluster:N is the simulated cluster, not --backend");
  }
  if (!backend.empty() && (base.schedule || base.faults != FaultProfile::kNone)) {
    if (base.schedule) return fail("--schedule is for the simulator, not --backend");
    base.faults = FaultProfile::kNone;
    std::fprintf(stderr, "distkit-sim: --backend runs without simulated faults\n");
  }

  const bool tty = !quiet && isatty(fileno(stderr));
  std::vector<Row> rows;
  std::vector<ReportEntry> report;
  bool violated = false;
  std::printf(
      "distkit-sim: %s, %d instances, %s workload at %g ops/s, faults %s, %s%s\n",
      primitive_list.c_str(), base.instances, workload.c_str(), base.rate, faults.c_str(),
      format_duration(base.duration).c_str(),
      !backend.empty() ? (" on " + backend).c_str()
      : find_primitive(names.front())->backend == Backend::kRaft
          ? (" simulated, a Raft group of " + std::to_string(base.members) + " members").c_str()
          : (" simulated, redis " + topology_name(base.redis)).c_str());
  for (const std::string& name : names) {
    Row row{.primitive = name};
    std::optional<ReportEntry> shown;
    for (int i = 0; i < seeds; ++i) {
      ScenarioOptions o = base;
      o.primitive = name;
      o.seed = first_seed + static_cast<std::uint64_t>(i);
      if (tty) {
        o.progress = [&, i](double done) {
          std::fprintf(stderr, "\r  %-16s seed %llu (%d/%d) %3.0f%%  ", name.c_str(),
                       static_cast<unsigned long long>(o.seed), i + 1, seeds, done * 100);
        };
      }
      Result<ScenarioResult> r = backend.empty() ? run_scenario(o) : run_on_redis(o, backend);
      if (tty) std::fprintf(stderr, "\r%70s\r", "");
      if (!r.ok()) return fail(r.status().message());
      ++row.seeds;
      row.simulated += r->simulated_seconds;
      row.wall += r->wall_seconds;
      row.events += r->events;
      row.operations += r->operations;
      row.hash = sim::mix_hash(row.hash, r->trace_hash);
      if (r->violation) {
        ++row.violations;
        if (!shown || shown->result.violation == std::nullopt) {
          shown = ReportEntry{.result = *r};
        }
      } else if (!shown) {
        shown = ReportEntry{.result = *r};
      }
    }
    shown->seeds_run = row.seeds;
    shown->violations = row.violations;
    if (shown->result.violation) {
      violated = true;
      ScenarioResult& r = shown->result;
      std::printf("\nVIOLATION %s seed %llu: %s\n", name.c_str(),
                  static_cast<unsigned long long>(r.options.seed), r.violation->message.c_str());
      std::printf("  invariant: %s\n", r.invariant.c_str());
      if (backend.empty()) {
        ScenarioOptions o = r.options;
        if (shrink_runs > 0 && !r.schedule.events.empty()) {
          std::printf("  shrinking the fault schedule (%zu events)...\n", r.schedule.events.size());
          std::fflush(stdout);
          sim::FaultSchedule small =
              shrink_schedule(o, r.schedule, shrink_runs, [&](int runs, std::size_t left) {
                if (tty) {
                  std::fprintf(stderr, "\r  %d runs, %zu events left  ", runs, left);
                }
              });
          if (tty) std::fprintf(stderr, "\r%70s\r", "");
          std::printf("  shrunk to %zu events\n", small.events.size());
          o.schedule = small;
        } else {
          o.schedule = r.schedule;
        }
        o.record_trace = true;
        Result<ScenarioResult> again = run_scenario(o);
        if (again.ok() && again->violation) {
          r = *again;
          std::printf("  %s\n", r.violation->message.c_str());
        }
        shown->replay = replay_command(r);
        const std::filesystem::path trace =
            user_path(trace_path.empty() ? "distkit-sim-" + name + "-seed" +
                                               std::to_string(r.options.seed) + ".trace"
                                         : trace_path);
        std::string lines;
        for (const std::string& line : r.trace)
          lines += line + "\n";
        if (write_file(trace, lines))
          std::printf("  trace: %s (%zu lines)\n", trace.c_str(), r.trace.size());
        std::printf("  schedule:\n%s", r.schedule_description.c_str());
        std::printf("  replay: %s\n", shown->replay.c_str());
      }
    }
    rows.push_back(row);
    report.push_back(std::move(*shown));
  }
  print_table(rows, backend.empty());
  if (!report_path.empty()) {
    const std::filesystem::path path = user_path(report_path);
    if (!write_file(path, render_report(report))) return fail("cannot write " + path.string());
    std::printf("report: %s\n", path.c_str());
  }
  return violated ? 1 : 0;
}
