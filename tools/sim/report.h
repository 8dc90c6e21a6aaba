// The scenario runner's report: one self-contained HTML file (inline SVG and CSS, no
// scripts, no network) with, per scenario, the summary, the timeline of faults, each
// instance's view against the true value, and where an invariant broke.
#ifndef DISTKIT_TOOLS_REPORT_H_
#define DISTKIT_TOOLS_REPORT_H_

#include <string>
#include <vector>

#include "distkit/tools/sim/scenario.h"

namespace distkit::scenario {

struct ReportEntry {
  ScenarioResult result;
  std::string replay;  // the replay command, when it failed
  int seeds_run = 1;
  int violations = 0;
};

[[nodiscard]] std::string render_report(const std::vector<ReportEntry>& entries);
// Escapes &, <, >, " and ' for HTML text and attributes.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace distkit::scenario

#endif  // DISTKIT_TOOLS_REPORT_H_
