// A Google Benchmark reporter that, besides the usual table, prints every result as
// a ratio to its baseline from the same run: a benchmark named BM_Baseline_<Case> is
// the baseline of every BM_<Impl>_<Case>. Absolute numbers on shared 2-core machines
// drift by tens of percent; ratios taken in one process are what we compare.
#ifndef DISTKIT_BENCH_RATIO_REPORTER_H_
#define DISTKIT_BENCH_RATIO_REPORTER_H_

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace distkit::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const std::string name = run.benchmark_name();
      const std::size_t first = name.find('_');
      const std::size_t second = name.find('_', first + 1);
      if (first == std::string::npos || second == std::string::npos) continue;
      const std::string impl = name.substr(first + 1, second - first - 1);
      const std::string kase = name.substr(second + 1);
      const double ns = run.GetAdjustedRealTime();
      if (impl == "Baseline") {
        baseline_[kase] = ns;
      } else {
        results_.push_back({impl, kase, ns});
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nratio to baseline (time per item; < 1 is faster than the baseline):\n");
    for (const Result& r : results_) {
      auto it = baseline_.find(r.kase);
      if (it == baseline_.end() || it->second <= 0) continue;
      std::printf("  %-40s %6.2f\n", (r.impl + "/" + r.kase).c_str(), r.ns / it->second);
    }
  }

 private:
  struct Result {
    std::string impl;
    std::string kase;
    double ns;
  };
  std::map<std::string, double> baseline_;
  std::vector<Result> results_;
};

}  // namespace distkit::bench

// BENCHMARK_MAIN() with the ratio reporter on the console; --benchmark_out still
// writes JSON.
#define DISTKIT_BENCHMARK_MAIN()                                      \
  int main(int argc, char** argv) {                                   \
    benchmark::Initialize(&argc, argv);                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    distkit::bench::RatioReporter reporter;                           \
    benchmark::RunSpecifiedBenchmarks(&reporter);                     \
    benchmark::Shutdown();                                            \
    return 0;                                                         \
  }

#endif  // DISTKIT_BENCH_RATIO_REPORTER_H_
