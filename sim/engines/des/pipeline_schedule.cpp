// Pipeline schedules as per-rank orders: see pipeline_schedule.h.
#include "gwsim/sim/engines/des/pipeline_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

namespace gwsim {

namespace {

// Where each stage of a micro-batch's path sits: stage s of stream `chunk` is (rank, chunk).
struct Layout {
  PipelineSchedule schedule;
  int pp, chunks;

  int stages() const { return schedule == PipelineSchedule::interleaved ? pp * chunks : pp; }
  int stage(int rank, int chunk) const {
    switch (schedule) {
      case PipelineSchedule::interleaved:
        return chunk * pp + rank;  // rank r holds chunks r, r + pp, ...
      case PipelineSchedule::dualpipe:
        return chunk == 0 ? rank : pp - 1 - rank;  // chunk = direction
      default:
        return rank;
    }
  }
  std::pair<int, int> at(int stage, int chunk) const {
    switch (schedule) {
      case PipelineSchedule::interleaved:
        return {stage % pp, stage / pp};
      case PipelineSchedule::dualpipe:
        return {chunk == 0 ? stage : pp - 1 - stage, chunk};
      default:
        return {stage, 0};
    }
  }
};

// Appends passes to one rank's order, with their sources and destinations filled in.
class RankOrder {
 public:
  RankOrder(const Layout& layout, std::vector<WorkItem>& items, int rank)
      : layout_(layout), items_(items), rank_(rank) {}

  Pass pass(PassKind kind, int chunk, int micro_batch, bool with_weight = false) const {
    Pass p{kind, chunk, micro_batch, with_weight};
    const int s = layout_.stage(rank_, chunk);
    const bool has_prev = s > 0, has_next = s + 1 < layout_.stages();
    auto set = [&](int& rank, int& ch, bool exists, int stage) {
      if (exists) std::tie(rank, ch) = layout_.at(stage, chunk);
    };
    if (kind == PassKind::forward) {
      set(p.from_rank, p.from_chunk, has_prev, s - 1);
      set(p.to_rank, p.to_chunk, has_next, s + 1);
    } else if (kind == PassKind::backward) {
      set(p.from_rank, p.from_chunk, has_next, s + 1);
      set(p.to_rank, p.to_chunk, has_prev, s - 1);
    }
    return p;
  }
  void add(Pass p) { items_.push_back(WorkItem{{p}}); }
  void add_pair(Pass forward, Pass backward) { items_.push_back(WorkItem{{forward, backward}}); }

 private:
  const Layout& layout_;
  std::vector<WorkItem>& items_;
  int rank_;
};

// 1F1B; with split_weight, ZB-H1: the same forwards and backwards, W after B except that rank r
// holds back its first r W passes until after the cool-down's last B. Rank r keeps pp - r
// micro-batches in flight at the start of the steady phase, so deferring r W passes (whose
// activations stay alive) keeps every rank within pp, 1F1B's peak on rank 0.
void one_f_one_b(const Layout& layout, PipelineOrder& o, bool split_weight) {
  const int m = o.micro_batches;
  for (int r = 0; r < o.pp; ++r) {
    RankOrder q(layout, o.ranks[r], r);
    const int warm = std::min(o.pp - 1 - r, m);
    int f = 0, b = 0, w = 0;
    auto forward = [&] { q.add(q.pass(PassKind::forward, 0, f++)); };
    auto backward = [&] { q.add(q.pass(PassKind::backward, 0, b++, !split_weight)); };
    auto weight = [&] { q.add(q.pass(PassKind::weight, 0, w++)); };
    for (int i = 0; i < warm; ++i) forward();
    for (int i = 0; i < m - warm; ++i) {
      forward();
      backward();
      if (split_weight && i >= r) weight();
    }
    for (int i = 0; i < warm; ++i) {
      backward();
      if (split_weight) weight();
    }
    while (split_weight && w < m) weight();
  }
}

// Megatron-LM's interleaved 1F1B (forward_backward_pipelining_with_interleaving): forwards walk
// the micro-batches in groups of g through chunk 0, then the same group through chunk 1, ...;
// backwards walk the same table with the chunks reversed. Warm-up (pp - r - 1) * 2 + (v - 1) * g
// forwards, capped at the total (then every forward runs before the first backward).
//
// g is Megatron's microbatch_group_size_per_vp_stage, pp by default. Megatron refuses a last group
// of fewer than pp micro-batches (its chunk-0 forwards would wait on the previous group's chunk-1
// forwards: a dependency stall, a deadlock in this order); for a micro-batch count that is not a
// multiple of pp we take the smallest g >= pp that Megatron accepts, which a user would set.
void interleaved(const Layout& layout, PipelineOrder& o) {
  const int m = o.micro_batches, v = o.chunks, pp = o.pp;
  int g = pp;
  while (g < m && m % g != 0 && m % g < pp) ++g;
  std::vector<std::pair<int, int>> table;  // (micro-batch, chunk) of the k-th forward
  for (int start = 0; start < m; start += g) {
    const int end = std::min(start + g, m);
    for (int c = 0; c < v; ++c)
      for (int mb = start; mb < end; ++mb) table.emplace_back(mb, c);
  }
  const int total = m * v;
  for (int r = 0; r < pp; ++r) {
    RankOrder q(layout, o.ranks[r], r);
    const int warm = std::min((pp - r - 1) * 2 + (v - 1) * g, total);
    auto forward = [&](int k) { q.add(q.pass(PassKind::forward, table[k].second, table[k].first)); };
    auto backward = [&](int k) { q.add(q.pass(PassKind::backward, v - 1 - table[k].second, table[k].first, true)); };
    for (int k = 0; k < warm; ++k) forward(k);
    for (int k = 0; k < total - warm; ++k) {
      forward(k + warm);
      backward(k);
    }
    for (int k = total - warm; k < total; ++k) backward(k);
  }
}

// DualPipe, phase by phase as deepseek-ai/DualPipe's DualPipe.step runs them. "Phase 0" is the
// direction in which the rank is among the first half of the stages (the forward direction on
// ranks 0..pp/2-1, the reverse one on the others), "phase 1" the other; h = min(r, pp - 1 - r).
void dualpipe(const Layout& layout, PipelineOrder& o) {
  const int pp = o.pp, half_ranks = pp / 2, half = o.micro_batches_per_chunk;
  for (int r = 0; r < pp; ++r) {
    RankOrder q(layout, o.ranks[r], r);
    const int h = std::min(r, pp - 1 - r);
    const bool second_half = r >= half_ranks;
    const bool middle = r == half_ranks - 1 || r == half_ranks;
    int next_f[2] = {0, 0}, next_b[2] = {0, 0};
    std::deque<std::pair<int, int>> weights;  // split-off W passes, run first in first out
    auto F = [&](int phase) {
      const int c = phase ^ (second_half ? 1 : 0);
      return q.pass(PassKind::forward, c, next_f[c]++);
    };
    auto B = [&](int phase, bool split_weight) {
      const int c = phase ^ (second_half ? 1 : 0);
      if (split_weight) weights.emplace_back(c, next_b[c]);
      return q.pass(PassKind::backward, c, next_b[c]++, !split_weight);
    };
    auto W = [&] {
      const auto [c, mb] = weights.front();
      weights.pop_front();
      return q.pass(PassKind::weight, c, mb);
    };

    // 1: warm-up forwards of phase 0.
    for (int i = 0; i < (half_ranks - h - 1) * 2; ++i) q.add(F(0));
    // 2: forwards alternating between the two directions.
    for (int i = 0; i <= h; ++i) {
      q.add(F(0));
      q.add(F(1));
    }
    // 3: B W F of phase 1 (W split off so that the next forward's receive overlaps it).
    for (int i = 0; i < half_ranks - h - 1; ++i) {
      q.add(B(1, true));
      q.add(W());
      q.add(F(1));
    }
    // 4: the steady phase, overlapped pairs F0&B1, F1&B0. The middle ranks run their first F0 and
    // B1 one after the other: F0 then needs no gradient to start, which shortens the bubble.
    for (int i = 0; i < half - pp + h + 1; ++i) {
      if (i == 0 && middle) {
        q.add(F(0));
        q.add(B(1, false));
      } else {
        q.add_pair(F(0), B(1, false));
      }
      q.add_pair(F(1), B(0, false));
    }
    // 5: B1, then F1&B0.
    for (int i = 0; i < half_ranks - h - 1; ++i) {
      q.add(B(1, false));
      q.add_pair(F(1), B(0, false));
    }
    // 6: backwards of both directions; from the middle of the phase on, W is split off.
    const int n6 = h + 1;
    bool split = false;
    for (int i = 0; i < n6; ++i) {
      if (i == n6 / 2 && h % 2 == 1) split = true;
      q.add(B(1, split));
      if (i == n6 / 2 && h % 2 == 0) split = true;
      q.add(B(0, split));
    }
    // 7: deferred W, then B0 with W split off.
    for (int i = 0; i < half_ranks - h - 1; ++i) {
      q.add(W());
      q.add(B(0, true));
    }
    // 8: the remaining W passes fill the cool-down.
    while (!weights.empty()) q.add(W());
    for (int c = 0; c < 2; ++c)
      if (next_f[c] != half || next_b[c] != half)
        throw std::logic_error(
            fmt::format("dualpipe order: rank {} runs {} forwards and {} backwards of direction {}, "
                        "expected {}",
                        r, next_f[c], next_b[c], c, half));
  }
}

}  // namespace

PipelineOrder make_pipeline_order(PipelineSchedule schedule, int pp, int micro_batches, int virtual_stages) {
  if (pp < 1 || micro_batches < 1) throw std::invalid_argument("pipeline order: pp and micro-batches must be positive");
  PipelineOrder o;
  o.schedule = schedule;
  o.pp = pp;
  o.micro_batches = micro_batches;
  o.micro_batches_per_chunk = micro_batches;
  o.ranks.assign(pp, {});
  switch (schedule) {
    case PipelineSchedule::interleaved:
      o.chunks = std::max(1, virtual_stages);
      break;
    case PipelineSchedule::dualpipe:
      if (pp % 2 != 0 || micro_batches % 2 != 0 || micro_batches < 2 * pp)
        throw std::invalid_argument(fmt::format(
            "dualpipe needs an even pp and an even micro-batch count of at least 2 pp (pp {}, micro-batches {}), as "
            "the reference implementation asserts",
            pp, micro_batches));
      o.chunks = 2;
      o.micro_batches_per_chunk = micro_batches / 2;
      break;
    default:
      o.chunks = 1;
  }
  const Layout layout{schedule, pp, o.chunks};
  switch (schedule) {
    case PipelineSchedule::one_f_one_b:
      one_f_one_b(layout, o, false);
      break;
    case PipelineSchedule::zero_bubble:
      one_f_one_b(layout, o, true);
      break;
    case PipelineSchedule::interleaved:
      interleaved(layout, o);
      break;
    case PipelineSchedule::dualpipe:
      dualpipe(layout, o);
      break;
  }
  return o;
}

void visit_in_dependency_order(const PipelineOrder& o, const std::function<void(int, const WorkItem&)>& visit) {
  std::vector<char> forward_done(o.keys(), 0), backward_done(o.keys(), 0);
  auto ready = [&](int rank, const Pass& p) -> bool {
    switch (p.kind) {
      case PassKind::forward:
        return p.from_rank < 0 || forward_done[o.key(p.from_rank, p.from_chunk, p.micro_batch)];
      case PassKind::backward:
        return p.from_rank >= 0 ? backward_done[o.key(p.from_rank, p.from_chunk, p.micro_batch)]
                                : forward_done[o.key(rank, p.chunk, p.micro_batch)];  // starts from its loss
      case PassKind::weight:
        return backward_done[o.key(rank, p.chunk, p.micro_batch)];
    }
    return false;
  };
  std::vector<std::size_t> cursor(o.pp, 0);
  for (bool progress = true; progress;) {
    progress = false;
    for (int r = 0; r < o.pp; ++r)
      for (; cursor[r] < o.ranks[r].size(); ++cursor[r], progress = true) {
        const auto& item = o.ranks[r][cursor[r]];
        if (!std::all_of(item.passes.begin(), item.passes.end(), [&](const Pass& p) { return ready(r, p); })) break;
        visit(r, item);
        for (const auto& p : item.passes) {
          if (p.kind == PassKind::forward) forward_done[o.key(r, p.chunk, p.micro_batch)] = 1;
          if (p.kind == PassKind::backward) backward_done[o.key(r, p.chunk, p.micro_batch)] = 1;
        }
      }
  }
  for (int r = 0; r < o.pp; ++r)
    if (cursor[r] < o.ranks[r].size())
      throw std::logic_error(fmt::format("{} pipeline order deadlocks: rank {} waits at {} (item {} of {})",
                                         to_string(o.schedule), r, label(o, o.ranks[r][cursor[r]]), cursor[r],
                                         o.ranks[r].size()));
}

std::string label(const PipelineOrder& o, const Pass& p) {
  const char kind = p.kind == PassKind::forward ? 'F' : p.kind == PassKind::backward ? 'B' : 'W';
  std::string s = fmt::format("{}{}{}", kind, p.micro_batch, p.kind == PassKind::backward && p.with_weight ? "+W" : "");
  if (o.chunks > 1) s += fmt::format(" c{}", p.chunk);
  return s;
}

std::string label(const PipelineOrder& o, const WorkItem& item) {
  std::string s;
  for (const auto& p : item.passes) s += (s.empty() ? "" : " & ") + label(o, p);
  return s;
}

OrderTiming time_pipeline_order(const PipelineOrder& o, const PassTimes& t) {
  OrderTiming out;
  out.busy_s.assign(o.pp, 0);
  out.finish_s.assign(o.pp, 0);
  std::vector<double> forward_end(o.keys(), 0), backward_end(o.keys(), 0);
  auto duration = [&](const Pass& p) {
    switch (p.kind) {
      case PassKind::forward:
        return t.forward_s;
      case PassKind::backward:
        return t.backward_s + (p.with_weight ? t.weight_s : 0);
      case PassKind::weight:
        return t.weight_s;
    }
    return 0.0;
  };
  visit_in_dependency_order(o, [&](int r, const WorkItem& item) {
    double start = out.finish_s[r], d = 0;
    for (const auto& p : item.passes) {
      d += duration(p);
      if (p.kind == PassKind::forward && p.from_rank >= 0)
        start = std::max(start, forward_end[o.key(p.from_rank, p.from_chunk, p.micro_batch)]);
      if (p.kind == PassKind::backward)
        start = std::max(start, p.from_rank >= 0 ? backward_end[o.key(p.from_rank, p.from_chunk, p.micro_batch)]
                                                 : forward_end[o.key(r, p.chunk, p.micro_batch)]);
    }
    if (item.overlapped() && t.pair_s >= 0) d = t.pair_s;
    const double end = start + d;
    for (const auto& p : item.passes) {
      if (p.kind == PassKind::forward) forward_end[o.key(r, p.chunk, p.micro_batch)] = end;
      if (p.kind == PassKind::backward) backward_end[o.key(r, p.chunk, p.micro_batch)] = end;
    }
    out.finish_s[r] = end;
    out.busy_s[r] += d;
  });
  out.makespan_s = *std::max_element(out.finish_s.begin(), out.finish_s.end());
  return out;
}

}  // namespace gwsim
