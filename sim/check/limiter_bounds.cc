#include "distkit/sim/check/limiter_bounds.h"

#include <algorithm>
#include <set>

namespace distkit::sim {
namespace {

void sort_by_ack(std::vector<Grant>& grants) {
  std::stable_sort(grants.begin(), grants.end(),
                   [](const Grant& a, const Grant& b) { return a.acked_us < b.acked_us; });
}

}  // namespace

std::optional<BoundViolation> check_window_bound(
    std::vector<Grant> grants, std::int64_t span_us,
    const std::function<std::int64_t(std::size_t)>& bound) {
  sort_by_ack(grants);
  std::size_t lo = 0;
  for (std::size_t j = 0; j < grants.size(); ++j) {
    const std::int64_t from = grants[j].acked_us - span_us;
    while (grants[lo].acked_us < from)
      ++lo;
    // Every grant acknowledged by acked_j and sent since `from`; ties in acked_us are
    // all counted by the last of them.
    std::int64_t total = 0;
    std::set<std::string> processes;
    for (std::size_t i = lo; i <= j; ++i) {
      if (grants[i].sent_us < from) continue;
      total += grants[i].quantity;
      processes.insert(grants[i].process);
    }
    const std::int64_t most = bound(processes.size());
    if (total > most) {
      return BoundViolation{std::to_string(total) + " granted within " + std::to_string(span_us) +
                                " us before " + std::to_string(grants[j].acked_us) + " us by " +
                                std::to_string(processes.size()) + " processes, bound " +
                                std::to_string(most),
                            grants[j].acked_us};
    }
  }
  return std::nullopt;
}

std::optional<BoundViolation> check_gcra_bound(std::vector<Grant> grants, std::int64_t burst,
                                               std::int64_t t_us, std::int64_t horizon_us) {
  t_us = std::max<std::int64_t>(1, t_us);
  std::vector<std::int64_t> starts;
  for (const Grant& g : grants)
    starts.push_back(g.sent_us);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  sort_by_ack(grants);
  std::size_t first = 0;
  for (const std::int64_t start : starts) {
    while (first < grants.size() && grants[first].acked_us < start)
      ++first;
    std::int64_t total = 0;
    for (std::size_t j = first; j < grants.size(); ++j) {
      if (horizon_us > 0 && grants[j].acked_us - start >= horizon_us) break;
      if (grants[j].sent_us < start) continue;
      total += grants[j].quantity;
      const std::int64_t w = grants[j].acked_us - start + 1;
      const std::int64_t most = burst + 1 + (w - 1) / t_us;
      if (total > most) {
        return BoundViolation{std::to_string(total) + " permits granted within " +
                                  std::to_string(w) + " us from " + std::to_string(start) +
                                  " us, bound " + std::to_string(most),
                              grants[j].acked_us};
      }
    }
  }
  return std::nullopt;
}

}  // namespace distkit::sim
