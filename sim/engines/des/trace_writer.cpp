#include "gwsim/sim/engines/des/trace_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace gwsim {

namespace {

std::int64_t to_ns(double s) { return std::llround(s * 1e9); }

// Microseconds with three decimals, from whole nanoseconds (exact, whatever the magnitude).
std::string microseconds(std::int64_t ns) {
  return fmt::format("{}{}.{:03}", ns < 0 ? "-" : "", std::abs(ns) / 1000, std::abs(ns) % 1000);
}

// Lane of every span of one (process, track): spans sorted by start (the longer first when two
// start together, so the outer one opens first); each lane keeps the ends of its open spans.
std::vector<int> assign_lanes(const std::vector<std::int64_t>& start, const std::vector<std::int64_t>& end,
                              const std::vector<std::size_t>& members, int& lanes_used) {
  std::vector<std::size_t> order(members.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const std::size_t x = members[a], y = members[b];
    return start[x] != start[y] ? start[x] < start[y] : end[x] > end[y];
  });
  std::vector<std::vector<std::int64_t>> open;  // per lane: ends of the open spans, innermost last
  std::vector<int> lane(members.size(), 0);
  for (const std::size_t i : order) {
    const std::int64_t s = start[members[i]], e = end[members[i]];
    std::size_t l = 0;
    for (; l < open.size(); ++l) {
      auto& stack = open[l];
      while (!stack.empty() && stack.back() <= s) stack.pop_back();
      if (stack.empty() || e <= stack.back()) break;
    }
    if (l == open.size()) open.emplace_back();
    open[l].push_back(e);
    lane[i] = static_cast<int>(l);
  }
  lanes_used = std::max(1, static_cast<int>(open.size()));
  return lane;
}

}  // namespace

std::string chrome_trace_json(const std::vector<std::string>& process_names,
                              const std::vector<std::string>& track_names, const std::vector<TraceSpan>& spans) {
  std::vector<std::int64_t> start(spans.size()), end(spans.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    start[i] = to_ns(spans[i].start_s);
    end[i] = std::max(start[i], to_ns(spans[i].end_s));
  }
  const std::size_t processes = process_names.size(), tracks = track_names.size();
  // Per process and track: its spans, their lanes, and the first thread id of the track.
  std::vector<std::vector<std::size_t>> members(processes * tracks);
  for (std::size_t i = 0; i < spans.size(); ++i)
    members[static_cast<std::size_t>(spans[i].process) * tracks + static_cast<std::size_t>(spans[i].track)].push_back(
        i);
  std::vector<int> tid(spans.size(), 0), lanes(processes * tracks, 1), first_tid(processes * tracks, 0);
  for (std::size_t p = 0; p < processes; ++p) {
    int next_tid = 0;
    for (std::size_t t = 0; t < tracks; ++t) {
      const std::size_t k = p * tracks + t;
      const std::vector<int> lane = assign_lanes(start, end, members[k], lanes[k]);
      first_tid[k] = next_tid;
      for (std::size_t j = 0; j < members[k].size(); ++j) tid[members[k][j]] = next_tid + lane[j];
      next_tid += lanes[k];
    }
  }

  std::string s = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  auto add = [&](const std::string& e) {
    if (!first) s += ",\n";
    s += e;
    first = false;
  };
  for (std::size_t p = 0; p < processes; ++p) {
    add(fmt::format(R"J({{"ph":"M","pid":{},"tid":0,"name":"process_name","args":{{"name":"{}"}}}})J", p,
                    process_names[p]));
    for (std::size_t t = 0; t < tracks; ++t) {
      const std::size_t k = p * tracks + t;
      for (int l = 0; l < lanes[k]; ++l) {
        const std::string name = l == 0 ? track_names[t] : fmt::format("{} {}", track_names[t], l + 1);
        add(fmt::format(R"J({{"ph":"M","pid":{},"tid":{},"name":"thread_name","args":{{"name":"{}"}}}})J", p,
                        first_tid[k] + l, name));
      }
    }
  }
  for (std::size_t i = 0; i < spans.size(); ++i)
    add(fmt::format(R"J({{"ph":"X","pid":{},"tid":{},"name":"{}","cat":"{}","ts":{},"dur":{}}})J", spans[i].process,
                    tid[i], spans[i].name, spans[i].category, microseconds(start[i]), microseconds(end[i] - start[i])));
  s += "\n]}\n";
  return s;
}

}  // namespace gwsim
