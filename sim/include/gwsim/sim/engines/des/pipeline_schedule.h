#pragma once
// Pipeline schedules as per-rank orders of work (what each pipeline rank computes, in which order,
// and whom it waits for), for the discrete-event training step.
//
//   1f1b         PipeDream-flush / Megatron 1F1B: pp - r - 1 warm-up forwards, then one forward and
//                one backward (weight gradients included) at a time.
//   interleaved  Megatron's interleaved 1F1B: rank r holds model chunks r, r + pp, r + 2 pp, ...;
//                micro-batches go through the chunks in groups of pp; warm-up
//                (pp - r - 1) * 2 + (v - 1) * pp forwards.
//   zero_bubble  ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", Sec 3.1): 1F1B with the
//                backward split into B (activation gradients) and W (weight gradients); rank r defers
//                its first r W passes to the cool-down, which keeps 1F1B's peak activation memory.
//   dualpipe     DeepSeek-V3 (report Sec 3.2.1; deepseek-ai/DualPipe): rank r holds stage r of the
//                forward direction and stage pp - 1 - r of the reverse one; half of the micro-batches
//                enter at each end; the reference implementation's eight phases, with overlapped
//                forward-backward chunk pairs in the steady phase and W split off where it fills
//                bubbles.
//
// Every micro-batch passes the stages of its stream in order; a "chunk" is what one rank holds of
// a stream (interleaved: model chunk 0..v-1; dualpipe: direction 0 or 1; otherwise 0).
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gwsim/workloads/parallelism.h"

namespace gwsim {

enum class PassKind { forward, backward, weight };  // F, B (activation gradients), W (weight gradients)

struct Pass {
  PassKind kind = PassKind::forward;
  int chunk = 0;
  int micro_batch = 0;       // numbered within its stream (dualpipe: within its direction)
  bool with_weight = false;  // backward: the weight gradients are computed in the same pass (no W)
  // Where the pass's input comes from and its output goes (rank, chunk); -1: nowhere. F receives
  // activations from the previous stage and sends to the next; B receives gradients from the next
  // stage and sends to the previous. The last stage's B starts from its own F's loss.
  int from_rank = -1, from_chunk = -1;
  int to_rank = -1, to_chunk = -1;
};

// One entry of a rank's order: a pass, or (dualpipe) an overlapped pair, forward then backward,
// whose computations run one after the other while each one's communication overlaps the other's
// computation (DeepSeek-V3 Sec 3.2.1).
struct WorkItem {
  std::vector<Pass> passes;  // 1, or 2 for an overlapped pair
  bool overlapped() const { return passes.size() == 2; }
};

struct PipelineOrder {
  PipelineSchedule schedule = PipelineSchedule::one_f_one_b;
  int pp = 1;
  int chunks = 1;                   // chunks per rank
  int micro_batches = 0;            // per step (all streams)
  int micro_batches_per_chunk = 0;  // dualpipe: micro_batches / 2 (one direction each)
  std::vector<std::vector<WorkItem>> ranks;

  // Dense index of (rank, chunk, micro-batch), for per-pass bookkeeping.
  int key(int rank, int chunk, int micro_batch) const {
    return (rank * chunks + chunk) * micro_batches_per_chunk + micro_batch;
  }
  int keys() const { return pp * chunks * micro_batches_per_chunk; }
};

// The order for `micro_batches` micro-batches on `pp` ranks (virtual_stages: interleaved only).
// Throws std::invalid_argument where the schedule is not defined (dualpipe: odd pp, odd
// micro-batch count or fewer than 2 pp micro-batches, as the reference implementation asserts).
PipelineOrder make_pipeline_order(PipelineSchedule schedule, int pp, int micro_batches, int virtual_stages = 1);

// Calls visit(rank, item) for every work item, each after the items it depends on (earlier items
// of its rank, and the passes on other ranks it receives from). Throws std::logic_error when the
// order deadlocks (a dependency cycle).
void visit_in_dependency_order(const PipelineOrder& order, const std::function<void(int, const WorkItem&)>& visit);

// "F3", "B3+W" (weight gradients in the same pass), "W3" for micro-batch 3, with " c1" for chunk 1
// where a rank holds several; an overlapped pair joins its passes with " & ".
std::string label(const PipelineOrder& order, const Pass& pass);
std::string label(const PipelineOrder& order, const WorkItem& item);

// List-scheduling timing of an order with free communication: every pass starts when its rank is
// free and its inputs exist. Durations per pass kind; an overlapped pair takes `pair_s`
// (< 0: the sum of its passes).
struct PassTimes {
  double forward_s = 1, backward_s = 1, weight_s = 1;
  double pair_s = -1;
};
struct OrderTiming {
  double makespan_s = 0;
  std::vector<double> busy_s;    // per rank: time spent computing
  std::vector<double> finish_s;  // per rank: end of its last item
};
OrderTiming time_pipeline_order(const PipelineOrder& order, const PassTimes& times);

}  // namespace gwsim
