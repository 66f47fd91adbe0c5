// The Perfetto/Chrome trace: spans that partly overlap never share a thread (the format forbids
// it), properly nested ones may; and the gigawatt scenario's des trace, which had 654 partly
// overlapping collective spans on shared threads, has none.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>
#include <vector>

#include "gwsim/common/paths.h"
#include "gwsim/sim/engines/des/trace_writer.h"
#include "gwsim/sim/report/report.h"

using namespace gwsim;

namespace {

struct Event {
  std::int64_t start_ns, end_ns;
  std::string name;
};

// (pid, tid) -> its complete events, times in whole nanoseconds as written (3 decimals of a µs).
std::map<std::pair<int, int>, std::vector<Event>> threads_of(const std::string& trace) {
  std::map<std::pair<int, int>, std::vector<Event>> threads;
  const auto doc = nlohmann::json::parse(trace);
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const std::int64_t ts = std::llround(e["ts"].get<double>() * 1e3), dur = std::llround(e["dur"].get<double>() * 1e3);
    threads[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back({ts, ts + dur, e["name"].get<std::string>()});
  }
  return threads;
}

// Spans of one thread that start inside an open span and end after it: partial overlaps.
std::vector<std::string> partial_overlaps(const std::string& trace) {
  std::vector<std::string> found;
  for (auto& [thread, events] : threads_of(trace)) {
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.end_ns > b.end_ns;
    });
    std::vector<const Event*> open;
    for (const auto& e : events) {
      while (!open.empty() && open.back()->end_ns <= e.start_ns) open.pop_back();
      if (!open.empty() && e.end_ns > open.back()->end_ns) {
        found.push_back(e.name + " overlaps " + open.back()->name + " on pid " + std::to_string(thread.first) +
                        " tid " + std::to_string(thread.second));
        continue;
      }
      open.push_back(&e);
    }
  }
  return found;
}

std::map<std::string, int> tid_by_name(const std::string& trace) {
  std::map<std::string, int> tids;
  const auto doc = nlohmann::json::parse(trace);
  for (const auto& e : doc["traceEvents"])
    if (e["ph"] == "X") tids[e["name"].get<std::string>()] = e["tid"].get<int>();
  return tids;
}

}  // namespace

TEST(TraceWriter, OverlappingSpansGoOnSeparateThreads) {
  // comm: a [0, 10] holds b [2, 5] (nested); c [8, 14] starts inside a and ends after it; d [14,
  // 20] follows c. compute: e [0, 3] alone.
  const std::vector<TraceSpan> spans = {{0, 1, "a", "dp", 0, 10e-6},
                                        {0, 1, "b", "tp", 2e-6, 5e-6},
                                        {0, 1, "c", "ep", 8e-6, 14e-6},
                                        {0, 1, "d", "ep", 14e-6, 20e-6},
                                        {0, 0, "e", "compute", 0, 3e-6}};
  const std::string trace = chrome_trace_json({"stage 0"}, {"compute", "comm"}, spans);
  EXPECT_TRUE(partial_overlaps(trace).empty());
  const auto tid = tid_by_name(trace);
  EXPECT_EQ(tid.at("e"), 0);
  EXPECT_EQ(tid.at("a"), 1);
  EXPECT_EQ(tid.at("b"), 1);  // nested: shares a's thread
  EXPECT_EQ(tid.at("c"), 2);  // partial overlap: a second comm thread
  EXPECT_EQ(tid.at("d"), 1);  // a has ended: back on the first
  // The extra thread is named after its track.
  EXPECT_NE(trace.find(R"("tid":2,"name":"thread_name","args":{"name":"comm 2"})"), std::string::npos) << trace;
  // Times in µs with whole nanoseconds.
  EXPECT_NE(trace.find(R"("name":"c","cat":"ep","ts":8.000,"dur":6.000)"), std::string::npos) << trace;
}

TEST(TraceWriter, TheCheckFindsAPartialOverlap) {
  // The checker itself: the two spans written by hand on one thread overlap partly.
  const std::string trace = R"({"traceEvents":[{"ph":"X","pid":0,"tid":1,"name":"a","ts":0.000,"dur":10.000},
    {"ph":"X","pid":0,"tid":1,"name":"c","ts":8.000,"dur":6.000}]})";
  EXPECT_EQ(partial_overlaps(trace).size(), 1u);
}

TEST(TraceWriter, GigawattDesTraceHasNoPartialOverlap) {
  const Scenario sc = load_scenario(data_dir() + "/scenarios/gigawatt-h100.json");
  const auto run = run_training(sc, "des", true);
  ASSERT_FALSE(run.trace_json.empty());
  const auto overlaps = partial_overlaps(run.trace_json);
  EXPECT_TRUE(overlaps.empty()) << overlaps.size()
                                << " partial overlaps, the first: " << (overlaps.empty() ? "" : overlaps.front());
  std::size_t spans = 0;
  for (const auto& [thread, events] : threads_of(run.trace_json)) spans += events.size();
  EXPECT_GT(spans, 6000u);  // every span is still written
}
