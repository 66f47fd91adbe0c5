#pragma once
// Chrome trace-event JSON (Perfetto, chrome://tracing) for a simulated step: one process per
// pipeline stage, named tracks (compute, comm, pp) and complete events ("ph":"X") on them.
//
// The format requires the complete events of one thread (pid, tid) to be disjoint or properly
// nested; two collectives that run at once on one stage would partly overlap. Each track is
// therefore spread over as many threads ("lanes") as its spans need: a span goes on the first lane
// where it starts after the spans that ended or nests inside the innermost open one, else on a new
// lane named "<track> 2", "<track> 3", ...
#include <string>
#include <vector>

namespace gwsim {

struct TraceSpan {
  int process = 0;  // index into the process names
  int track = 0;    // index into the track names
  std::string name;
  std::string category;
  double start_s = 0;
  double end_s = 0;
};

// Times are written in microseconds with three decimals (whole nanoseconds); spans are placed on
// lanes by those rounded times, so what a viewer reads nests exactly as it was placed.
std::string chrome_trace_json(const std::vector<std::string>& process_names,
                              const std::vector<std::string>& track_names, const std::vector<TraceSpan>& spans);

}  // namespace gwsim
