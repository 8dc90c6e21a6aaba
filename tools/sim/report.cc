#include "distkit/tools/sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace distkit::scenario {
namespace {

constexpr int kWidth = 960;
constexpr int kLeft = 130;  // room for row labels
constexpr int kRight = 20;
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string fault_color(const std::string& what) {
  if (what == "partition") return "#d62728";
  if (what == "loss" || what == "slow link" || what == "connections reset") return "#ff7f0e";
  if (what == "crashed") return "#000000";
  if (what == "paused") return "#7f7f7f";
  if (what.starts_with("clock")) return "#9467bd";
  return "#17becf";  // Redis faults
}

// Rows per node; bars for intervals, ticks for instants; the violation as a red line.
std::string fault_timeline(const ScenarioResult& r, double span) {
  std::vector<std::string> rows;
  for (const std::string& n : r.nodes)
    rows.push_back(n);
  const int row_h = 18;
  const int height = static_cast<int>(rows.size()) * row_h + 30;
  const double plot_w = kWidth - kLeft - kRight;
  const auto x = [&](double t) { return kLeft + plot_w * std::clamp(t / span, 0.0, 1.0); };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) +
                    "\" height=\"" + std::to_string(height) + "\" role=\"img\">";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int y = static_cast<int>(i) * row_h + 4;
    svg += "<text x=\"4\" y=\"" + std::to_string(y + 12) + "\" class=\"label\">" +
           html_escape(rows[i]) + "</text>";
    svg += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + plot_w) + "\" y1=\"" +
           std::to_string(y + 9) + "\" y2=\"" + std::to_string(y + 9) + "\" stroke=\"#eee\"/>";
  }
  for (const FaultMark& m : r.faults) {
    const auto it = std::find(rows.begin(), rows.end(), m.node);
    const int y = static_cast<int>(it - rows.begin()) * row_h + 4;
    const std::string title =
        "<title>" +
        html_escape(m.node + ": " + m.what + " at " + num(m.from_seconds) + " s" +
                    (m.to_seconds > m.from_seconds ? " to " + num(m.to_seconds) + " s" : "")) +
        "</title>";
    if (m.to_seconds > m.from_seconds) {
      svg += "<rect x=\"" + num(x(m.from_seconds)) + "\" y=\"" + std::to_string(y + 3) +
             "\" width=\"" + num(std::max(1.0, x(m.to_seconds) - x(m.from_seconds))) +
             "\" height=\"12\" fill=\"" + fault_color(m.what) + "\" opacity=\"0.6\">" + title +
             "</rect>";
    } else {
      svg += "<rect x=\"" + num(x(m.from_seconds) - 1) + "\" y=\"" + std::to_string(y + 1) +
             "\" width=\"3\" height=\"16\" fill=\"" + fault_color(m.what) + "\">" + title +
             "</rect>";
    }
  }
  const int axis_y = static_cast<int>(rows.size()) * row_h + 8;
  for (int i = 0; i <= 10; ++i) {
    const double t = span * i / 10;
    svg += "<text x=\"" + num(x(t)) + "\" y=\"" + std::to_string(axis_y + 14) +
           "\" class=\"tick\" text-anchor=\"middle\">" + num(t) + " s</text>";
  }
  if (r.violation && r.violation->at_seconds >= 0) {
    svg += "<line x1=\"" + num(x(r.violation->at_seconds)) + "\" x2=\"" +
           num(x(r.violation->at_seconds)) + "\" y1=\"0\" y2=\"" + std::to_string(axis_y) +
           "\" stroke=\"red\" stroke-width=\"2\"/>";
  }
  return svg + "</svg>";
}

// Each series as a polyline; the true value bold and black.
std::string chart(const ScenarioResult& r, const Timeline& timeline, double span) {
  const int height = 300;
  const double plot_w = kWidth - kLeft - kRight, plot_h = height - 40;
  double lo = 0, hi = 1;
  for (const Series& s : timeline.series) {
    for (const auto& [t, v] : s.points) {
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  const auto x = [&](double t) { return kLeft + plot_w * std::clamp(t / span, 0.0, 1.0); };
  const auto y = [&](double v) { return 10 + plot_h * (1 - (v - lo) / (hi - lo)); };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) +
                    "\" height=\"" + std::to_string(height) + "\" role=\"img\">";
  svg += "<rect x=\"" + num(kLeft) + "\" y=\"10\" width=\"" + num(plot_w) + "\" height=\"" +
         num(plot_h) + "\" fill=\"none\" stroke=\"#ccc\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    svg += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(y(v) + 4) +
           "\" class=\"tick\" text-anchor=\"end\">" + num(v) + "</text>";
  }
  for (int i = 0; i <= 10; ++i) {
    const double t = span * i / 10;
    svg += "<text x=\"" + num(x(t)) + "\" y=\"" + num(plot_h + 26) +
           "\" class=\"tick\" text-anchor=\"middle\">" + num(t) + " s</text>";
  }
  std::size_t color = 0;
  std::string legend;
  for (const Series& s : timeline.series) {
    const std::string stroke =
        s.truth ? "#000" : (s.name == "bound" ? "#d62728" : kPalette[color++ % 10]);
    std::string points;
    for (const auto& [t, v] : s.points) {
      if (std::isfinite(v)) points += num(x(t)) + "," + num(y(v)) + " ";
    }
    svg += "<polyline fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" +
           (s.truth ? "2.5" : "1.2") + "\"" +
           (s.name == "bound" ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + points +
           "\"><title>" + html_escape(s.name) + "</title></polyline>";
    legend += "<span class=\"key\"><span class=\"swatch\" style=\"background:" + stroke +
              "\"></span>" + html_escape(s.name) + "</span> ";
  }
  if (r.violation && r.violation->at_seconds >= 0) {
    svg += "<line x1=\"" + num(x(r.violation->at_seconds)) + "\" x2=\"" +
           num(x(r.violation->at_seconds)) + "\" y1=\"10\" y2=\"" + num(10 + plot_h) +
           "\" stroke=\"red\" stroke-width=\"2\"><title>invariant broken here</title></line>";
  }
  return svg + "</svg><div class=\"legend\">" + legend + "</div>";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_report(const std::vector<ReportEntry>& entries) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>distkit-sim report</title><style>"
      "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}"
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;"
      "text-align:left}th{background:#f4f4f4}.ok{color:#2ca02c;font-weight:bold}"
      ".bad{color:#d62728;font-weight:bold}.label{font-size:12px}.tick{font-size:10px;fill:#555}"
      ".legend{font-size:12px;margin:4px 0 16px}.key{margin-right:12px}"
      ".swatch{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}"
      "code{background:#f4f4f4;padding:2px 4px;word-break:break-all}</style></head><body>\n"
      "<h1>distkit-sim report</h1>\n";
  for (const ReportEntry& e : entries) {
    const ScenarioResult& r = e.result;
    const ScenarioOptions& o = r.options;
    const double span = std::max(1e-3, r.simulated_seconds);
    html += "<section><h2>" + html_escape(o.primitive) + " &mdash; " + std::to_string(o.instances) +
            " instances, faults: " + html_escape(profile_name(o.faults)) + "</h2>\n<table>";
    const auto row = [&](const std::string& k, const std::string& v) {
      html += "<tr><th>" + html_escape(k) + "</th><td>" + v + "</td></tr>";
    };
    row("backend", html_escape(r.backend));
    row("invariant", html_escape(r.invariant));
    row("verdict",
        r.violation
            ? "<span class=\"bad\">VIOLATED: " + html_escape(r.violation->message) + "</span>"
            : "<span class=\"ok\">holds</span>");
    row("seeds run", std::to_string(e.seeds_run) + " (" + std::to_string(e.violations) +
                         " violated); shown: seed " + std::to_string(o.seed));
    row("workload", html_escape(std::string(workload_name(o.workload))) + ", " + num(o.rate) +
                        " ops/s per instance, " + std::to_string(o.keys) + " keys");
    row("simulated", num(r.simulated_seconds) + " s (" + format_duration(o.duration) +
                         " of chaos, then healing) in " + num(r.wall_seconds) + " s of wall time");
    row("events / operations", std::to_string(r.events) + " / " + std::to_string(r.operations));
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.trace_hash));
    row("trace hash", std::string("<code>") + hash + "</code>");
    if (!e.replay.empty()) row("replay", "<code>" + html_escape(e.replay) + "</code>");
    html += "</table>\n<h3>Faults</h3>\n" + fault_timeline(r, span) + "\n";
    html += "<h3>" + html_escape(r.timeline.y_label.empty() ? "values" : r.timeline.y_label) +
            ": each instance's view and the true value</h3>\n" + chart(r, r.timeline, span) + "\n";
    for (const Timeline* members : {&r.terms, &r.commits}) {
      if (members->series.empty()) continue;
      html += "<h3>" + html_escape(members->y_label) + " (leaders: in the faults above)</h3>\n" +
              chart(r, *members, span) + "\n";
    }
    if (!r.schedule_description.empty()) {
      html += "<details><summary>fault schedule (" + std::to_string(r.schedule.events.size()) +
              " events)</summary><pre>" + html_escape(r.schedule_description) +
              "</pre></details>\n";
    }
    html += "</section>\n";
  }
  return html + "</body></html>\n";
}

}  // namespace distkit::scenario
