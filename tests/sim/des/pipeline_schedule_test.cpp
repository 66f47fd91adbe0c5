// Pipeline schedules: every order is complete and executable, its bubble, timed with free
// communication, is the published one, and the des training step runs every schedule.
#include "gwsim/sim/engines/des/pipeline_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "gwsim/common/paths.h"
#include "gwsim/sim/report/report.h"

using namespace gwsim;

namespace {

constexpr PipelineSchedule kAll[] = {PipelineSchedule::one_f_one_b, PipelineSchedule::interleaved,
                                     PipelineSchedule::zero_bubble, PipelineSchedule::dualpipe};

std::string describe(const PipelineOrder& o) {
  return to_string(o.schedule) + " pp" + std::to_string(o.pp) + " m" + std::to_string(o.micro_batches) + " chunks" +
         std::to_string(o.chunks);
}

// Idle time of the rank that waits most: the makespan minus its own work.
double bubble(const OrderTiming& t) {
  double b = 0;
  for (std::size_t r = 0; r < t.busy_s.size(); ++r) b = std::max(b, t.makespan_s - t.busy_s[r]);
  return b;
}

// Largest number of micro-batch chunks whose activations a rank holds at once (from its forward
// until its weight gradients are done).
std::vector<int> peak_activations(const PipelineOrder& o) {
  std::vector<int> peak(o.pp, 0);
  for (int r = 0; r < o.pp; ++r) {
    int live = 0;
    for (const auto& item : o.ranks[r])
      for (const auto& p : item.passes) {
        if (p.kind == PassKind::forward) peak[r] = std::max(peak[r], ++live);
        if (p.kind == PassKind::weight || (p.kind == PassKind::backward && p.with_weight)) --live;
      }
  }
  return peak;
}

// Every (chunk, micro-batch) of a rank has one F, one B, and one W unless the B computes the weight
// gradients itself; F before B before W on the rank; sources and destinations agree across ranks;
// and the order runs without deadlock.
void expect_valid(const PipelineOrder& o) {
  SCOPED_TRACE(describe(o));
  ASSERT_EQ(static_cast<int>(o.ranks.size()), o.pp);
  using Key = std::tuple<int, int, int>;  // rank, chunk, micro-batch
  std::map<Key, int> f_at, b_at, w_at;    // position in the rank's order
  std::map<Key, bool> fused;
  std::map<Key, Pass> forward_of, backward_of;
  for (int r = 0; r < o.pp; ++r) {
    int pos = 0;
    for (const auto& item : o.ranks[r]) {
      ASSERT_FALSE(item.passes.empty());
      if (item.overlapped()) {
        EXPECT_EQ(o.schedule, PipelineSchedule::dualpipe);
        EXPECT_EQ(item.passes[0].kind, PassKind::forward);
        EXPECT_EQ(item.passes[1].kind, PassKind::backward);
        EXPECT_NE(item.passes[0].chunk, item.passes[1].chunk);  // the two directions
      }
      for (const auto& p : item.passes) {
        ASSERT_GE(p.chunk, 0);
        ASSERT_LT(p.chunk, o.chunks);
        ASSERT_GE(p.micro_batch, 0);
        ASSERT_LT(p.micro_batch, o.micro_batches_per_chunk);
        const Key k{r, p.chunk, p.micro_batch};
        auto& slot = p.kind == PassKind::forward ? f_at : p.kind == PassKind::backward ? b_at : w_at;
        EXPECT_TRUE(slot.emplace(k, pos).second) << "duplicate pass at rank " << r;
        if (p.kind == PassKind::forward) forward_of[k] = p;
        if (p.kind == PassKind::backward) {
          backward_of[k] = p;
          fused[k] = p.with_weight;
        }
      }
      ++pos;
    }
  }
  const std::size_t per_kind = static_cast<std::size_t>(o.pp) * o.chunks * o.micro_batches_per_chunk;
  EXPECT_EQ(f_at.size(), per_kind);
  EXPECT_EQ(b_at.size(), per_kind);
  std::size_t split = 0;
  for (const auto& [k, pos] : b_at) {
    ASSERT_TRUE(f_at.count(k));
    EXPECT_LT(f_at[k], pos);
    if (!fused[k]) {
      ++split;
      ASSERT_TRUE(w_at.count(k));
      EXPECT_LT(pos, w_at[k]);
    } else {
      EXPECT_FALSE(w_at.count(k));
    }
  }
  EXPECT_EQ(w_at.size(), split);
  // A forward's destination receives from it, and the backward there sends its gradient back.
  for (const auto& [k, f] : forward_of) {
    const auto [r, c, mb] = k;
    const auto& b = backward_of[k];
    EXPECT_EQ(b.to_rank, f.from_rank);
    EXPECT_EQ(b.from_rank, f.to_rank);
    if (f.to_rank < 0) continue;
    const auto& next = forward_of[Key{f.to_rank, f.to_chunk, mb}];
    EXPECT_EQ(next.from_rank, r);
    EXPECT_EQ(next.from_chunk, c);
  }
  EXPECT_NO_THROW(visit_in_dependency_order(o, [](int, const WorkItem&) {}));
}

}  // namespace

TEST(PipelineSchedule, EveryOrderIsValid) {
  for (auto s : kAll)
    for (int pp : {1, 2, 3, 4, 6, 8, 16})
      for (int m : {1, 2, 3, 5, 8, 12, 16, 17, 32, 40})
        for (int v : {1, 2, 3}) {
          if ((s == PipelineSchedule::interleaved) != (v > 1)) continue;
          if (s == PipelineSchedule::dualpipe && (pp % 2 || m % 2 || m < 2 * pp)) {
            EXPECT_THROW(make_pipeline_order(s, pp, m, v), std::invalid_argument);
            continue;
          }
          expect_valid(make_pipeline_order(s, pp, m, v));
        }
}

TEST(PipelineSchedule, OneFOneBBubble) {
  // (pp - 1)(F + B + W) for any micro-batch count (Narayanan et al. SC21 Sec 2.2.1).
  for (int pp : {2, 4, 8})
    for (int m : {1, pp, 2 * pp + 1})
      for (PassTimes t : {PassTimes{1, 1, 1}, PassTimes{2, 2, 1}, PassTimes{1, 2, 1}}) {
        const auto timing = time_pipeline_order(make_pipeline_order(PipelineSchedule::one_f_one_b, pp, m), t);
        EXPECT_DOUBLE_EQ(bubble(timing), (pp - 1) * (t.forward_s + t.backward_s + t.weight_s)) << pp << " " << m;
        EXPECT_DOUBLE_EQ(timing.busy_s[0], m * (t.forward_s + t.backward_s + t.weight_s));
      }
  // Activations of pp - r micro-batches on rank r.
  EXPECT_EQ(peak_activations(make_pipeline_order(PipelineSchedule::one_f_one_b, 4, 8)), (std::vector<int>{4, 3, 2, 1}));
}

TEST(PipelineSchedule, InterleavedBubble) {
  // (pp - 1)(F + B + W) / v with whole-stage times (SC21 Sec 2.2.2): chunk times here, so
  // (pp - 1)(f + b + w), for micro-batch counts that are multiples of pp, as Megatron requires.
  for (int pp : {2, 4, 8})
    for (int v : {2, 3, 4})
      for (int m : {pp, 2 * pp, 4 * pp})
        for (PassTimes t : {PassTimes{1, 1, 1}, PassTimes{2, 2, 1}, PassTimes{1, 2, 1}}) {
          const auto timing = time_pipeline_order(make_pipeline_order(PipelineSchedule::interleaved, pp, m, v), t);
          EXPECT_DOUBLE_EQ(bubble(timing), (pp - 1) * (t.forward_s + t.backward_s + t.weight_s))
              << "pp " << pp << " v " << v << " m " << m;
        }
  // Rank 0 holds Megatron's warm-up plus one chunks: pp + (pp - 1) / v micro-batches of its stage.
  EXPECT_EQ(peak_activations(make_pipeline_order(PipelineSchedule::interleaved, 4, 8, 2))[0], 2 * 3 + 4 + 1);
  // A micro-batch count that is not a multiple of pp takes a larger group and still runs.
  const auto odd = time_pipeline_order(make_pipeline_order(PipelineSchedule::interleaved, 4, 10, 2), {1, 1, 1});
  EXPECT_GE(bubble(odd), 3 * 3);
}

TEST(PipelineSchedule, ZeroBubbleH1Bubble) {
  // ZB-H1: (p - 1)(T_F + T_B - T_W) with T_B the activation-gradient pass only (Qi et al. 2024,
  // Sec 3.1), 1/3 of 1F1B's when the three are equal. The W passes fill the cool-down when each W
  // fits the gaps it is moved into: T_W <= T_F and T_W <= T_B, the paper's setting.
  for (int pp : {2, 4, 8})
    for (int m : {pp, 2 * pp + 1, 4 * pp})
      for (PassTimes t :
           {PassTimes{1, 1, 1}, PassTimes{2, 2, 1}, PassTimes{1, 2, 1}, PassTimes{2, 1, 1}, PassTimes{3, 2, 0.5}}) {
        const auto timing = time_pipeline_order(make_pipeline_order(PipelineSchedule::zero_bubble, pp, m), t);
        EXPECT_DOUBLE_EQ(bubble(timing), (pp - 1) * (t.forward_s + t.backward_s - t.weight_s))
            << "pp " << pp << " m " << m << " F " << t.forward_s << " B " << t.backward_s << " W " << t.weight_s;
      }
  // W longer than F: not all of it fits; the bubble only grows.
  const auto long_w = time_pipeline_order(make_pipeline_order(PipelineSchedule::zero_bubble, 8, 16), {1, 2, 2});
  EXPECT_GT(bubble(long_w), 7 * (1 + 2 - 2));
  // Same peak activation memory as 1F1B: pp micro-batches, now on every rank.
  EXPECT_EQ(peak_activations(make_pipeline_order(PipelineSchedule::zero_bubble, 4, 8)), (std::vector<int>{4, 4, 4, 4}));
}

TEST(PipelineSchedule, DualPipeBubble) {
  // DualPipe (DeepSeek-V3 Table 2, deepseek-ai/DualPipe README): (PP/2 - 1)(F&B + B - 3W), B the
  // full backward (B + W here) and F&B an overlapped forward-backward pair. The expression is read
  // off the schedule where forward and backward chunks take equal time; it is exact here whenever
  // T_F = T_B, for a serial pair (F + B + W) and for one shortened by overlap.
  for (int pp : {4, 8, 16})
    for (int m : {2 * pp, 2 * pp + 6, 120})
      for (PassTimes t : {PassTimes{1, 1, 1}, PassTimes{2, 2, 1}, PassTimes{2, 2, 1, 4}, PassTimes{2, 2, 1, 3},
                          PassTimes{3, 3, 2, 6}}) {
        const auto timing = time_pipeline_order(make_pipeline_order(PipelineSchedule::dualpipe, pp, m), t);
        const double pair = t.pair_s >= 0 ? t.pair_s : t.forward_s + t.backward_s + t.weight_s;
        const double full_b = t.backward_s + t.weight_s;
        EXPECT_DOUBLE_EQ(bubble(timing), (pp / 2 - 1) * (pair + full_b - 3 * t.weight_s))
            << "pp " << pp << " m " << m << " F&B " << pair;
      }
  // With T_F != T_B the forward-only warm-up and backward-only cool-down no longer mirror each
  // other and the bubble moves off the expression, by at most (PP/2 - 1)|T_F - T_B| here.
  for (int pp : {4, 8, 16})
    for (PassTimes t : {PassTimes{1, 2, 1}, PassTimes{2, 1, 1}, PassTimes{3, 2, 1, 5}, PassTimes{1, 3, 1, 4}}) {
      const auto timing = time_pipeline_order(make_pipeline_order(PipelineSchedule::dualpipe, pp, 4 * pp), t);
      const double pair = t.pair_s >= 0 ? t.pair_s : t.forward_s + t.backward_s + t.weight_s;
      const double expr = (pp / 2 - 1) * (pair + t.backward_s + t.weight_s - 3 * t.weight_s);
      EXPECT_LE(std::abs(bubble(timing) - expr), (pp / 2 - 1) * std::abs(t.forward_s - t.backward_s) + 1e-12)
          << "pp " << pp << " F " << t.forward_s << " B " << t.backward_s;
    }
  // PP + 1 chunks' activations per rank (the README's memory column).
  for (int peak : peak_activations(make_pipeline_order(PipelineSchedule::dualpipe, 8, 40))) EXPECT_EQ(peak, 9);
}

TEST(PipelineSchedule, DualPipeFollowsTheReferencePhases) {
  // pp 4, 8 micro-batches (4 per direction). Rank 0: h = 0; phase 0 is the forward direction (c0).
  const auto o = make_pipeline_order(PipelineSchedule::dualpipe, 4, 8);
  std::vector<std::string> r0, r1;
  for (const auto& item : o.ranks[0]) r0.push_back(label(o, item));
  for (const auto& item : o.ranks[1]) r1.push_back(label(o, item));
  // 1: 2 F0; 2: F0 F1; 3: B1 W1 F1; 4: F0&B1, F1&B0; 5: B1, F1&B0; 6: B1 B0 (W split from B0);
  // 7: W B0; 8: W.
  EXPECT_EQ(r0, (std::vector<std::string>{"F0 c0", "F1 c0", "F2 c0", "F0 c1", "B0 c1", "W0 c1", "F1 c1",
                                          "F3 c0 & B1+W c1", "F2 c1 & B0+W c0", "B2+W c1", "F3 c1 & B1+W c0", "B3+W c1",
                                          "B2 c0", "W2 c0", "B3 c0", "W3 c0"}));
  // Rank 1 is a middle rank: its first steady-phase F0 and B1 run one after the other.
  // Its phase 6 splits W off both backwards of its second half: 7 and 8 then run those W.
  EXPECT_EQ(r1, (std::vector<std::string>{"F0 c0", "F0 c1", "F1 c0", "F1 c1", "F2 c0", "B0+W c1", "F2 c1 & B0+W c0",
                                          "F3 c0 & B1+W c1", "F3 c1 & B1+W c0", "B2+W c1", "B2+W c0", "B3 c1", "B3 c0",
                                          "W3 c1", "W3 c0"}));
}

TEST(PipelineSchedule, DeadlockIsReported) {
  auto o = make_pipeline_order(PipelineSchedule::one_f_one_b, 2, 2);
  std::swap(o.ranks[0][0], o.ranks[0].back());  // rank 0 starts with a backward it cannot have
  EXPECT_THROW(visit_in_dependency_order(o, [](int, const WorkItem&) {}), std::logic_error);
}

TEST(PipelineSchedule, DesTrainingStepRunsEverySchedule) {
  // Llama-3 8B on 64 H100s, TP8 PP4 DP2, 32 micro-batches per replica.
  auto scenario = [](const std::string& schedule) {
    std::vector<std::string> set{"model=llama3-8b",
                                 "cluster.file=generic-h100-1024",
                                 "cluster.gpus=64",
                                 "parallelism.tp=8",
                                 "parallelism.pp=4",
                                 "parallelism.dp=2",
                                 "training.recompute=selective",
                                 "training.attention_kernel=flash",
                                 "training.global_batch_seqs=64"};
    set.push_back("parallelism.schedule=" + schedule);
    if (schedule == "interleaved") set.push_back("parallelism.virtual_stages=2");
    return load_scenario(data_dir() + "/scenarios/megatron-sc21-3p6b-64xa100.json", set);
  };
  std::map<std::string, double> step;
  for (const std::string schedule : {"1f1b", "interleaved", "zero_bubble", "dualpipe"}) {
    SCOPED_TRACE(schedule);
    const auto des = run_training(scenario(schedule), "des", true);
    const auto ana = run_training(scenario(schedule), "analytical");
    step[schedule] = des.step.step_time_s;
    // Same op times and the same bubble expressions' schedules: within 15%, as for 1F1B.
    EXPECT_LT(std::abs(des.step.step_time_s / ana.step.step_time_s - 1), 0.15);
    bool described = false;
    for (const auto& note : des.report["des"]["notes"]) {
      EXPECT_EQ(note.get<std::string>().find("approximated as 1F1B"), std::string::npos);
      described = described || note.get<std::string>().find("schedule " + schedule) == 0;
    }
    EXPECT_TRUE(described);
    // The trace names passes by micro-batch (and chunk where a rank holds several).
    const std::string first = schedule == "dualpipe" || schedule == "interleaved" ? "\"F0 c0\"" : "\"F0\"";
    EXPECT_NE(des.trace_json.find(first), std::string::npos);
    if (schedule == "dualpipe") {
      EXPECT_NE(des.trace_json.find(" & B"), std::string::npos);  // overlapped F&B pairs
    }
    if (schedule == "zero_bubble") {
      EXPECT_NE(des.trace_json.find("\"W0\""), std::string::npos);
    }
  }
  // Splitting off W and interleaving chunks both shorten 1F1B's bubble.
  EXPECT_LT(step["zero_bubble"], step["1f1b"]);
  EXPECT_LT(step["interleaved"], step["1f1b"]);
}
