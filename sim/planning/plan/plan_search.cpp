// gwsim plan: contexts, enumeration with exact pruning, evaluation on a thread pool, ranking.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>
#include <tuple>

#include "gwsim/common/input_error.h"
#include "gwsim/common/input_limits.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/hwmodels/power.h"
#include "gwsim/sim/engines/analytical.h"
#include "gwsim/sim/planning/chip_swap.h"
#include "gwsim/sim/planning/goodput.h"
#include "gwsim/sim/planning/plan.h"
#include "gwsim/sim/planning/striped_work.h"
#include "gwsim/sim/validation/error_band.h"
#include "gwsim/sim/validation/validation_record.h"
#include "gwsim/sim/validation/validation_region.h"
#include "gwsim/workloads/training_plan.h"
#include "plan_partial.h"

namespace gwsim {

std::string to_string(PlanObjective o) {
  switch (o) {
    case PlanObjective::time:
      return "time";
    case PlanObjective::cost:
      return "cost";
    case PlanObjective::energy:
      return "energy";
    case PlanObjective::gpus:
      return "gpus";
    case PlanObjective::power:
      return "power";
    case PlanObjective::tokens:
      return "tokens";
  }
  return "?";
}

std::string context_label(const PlanContext& c) {
  return fmt::format("{} x{}{}", c.chip, c.gpus, c.fabric.empty() ? "" : " [" + c.fabric + "]");
}

double tokens_within_deadline(double run_tokens, double wall_clock_days, double deadline_days) {
  return wall_clock_days > 0 ? run_tokens * deadline_days / wall_clock_days : 0;
}

std::string to_string(BudgetKind k) {
  switch (k) {
    case BudgetKind::rental:
      return "rental";
    case BudgetKind::owned:
      return "owned";
    case BudgetKind::capex:
      return "capex";
  }
  return "?";
}

std::string layout_string(const PlanLayout& l) {
  const auto& p = l.par;
  std::string s = fmt::format("tp{}{} pp{} {}", p.tp, p.sp ? " sp" : "", p.pp, to_string(p.schedule));
  if (p.schedule == PipelineSchedule::interleaved) s += fmt::format(" v{}", p.virtual_stages);
  s += fmt::format(" dp{} ep{} cp{} zero{} mb{} rc={}", p.dp, p.ep, p.cp, p.zero_stage, p.micro_batch_seqs,
                   to_string(l.recompute));
  return s;
}

namespace {

std::string context_key(const PlanContext& c) {
  return fmt::format("{} gbs{} {}", context_label(c), c.global_batch_seqs, to_string(c.precision));
}

// The order in which recomputation needs memory: full keeps only each layer's input, selective
// keeps more, none keeps everything (training_plan.cpp activation_bytes_per_token: every term of
// full is in selective, every term of selective in none; nothing else in the plan's memory reads
// the recompute setting). So a layout that does not fit with one does not fit with the next.
int recompute_memory_rank(Recompute r) { return r == Recompute::full ? 0 : r == Recompute::selective ? 1 : 2; }

struct Group {
  int context = 0;
  Parallelism par;
  std::vector<Recompute> recompute;  // in recompute_memory_rank order
};

// Ranking tuple: objective values, then the context and the layout's fields (a total order, so the
// ranking does not depend on the order results arrive in).
struct RankKey {
  std::vector<double> objectives;
  std::array<std::int64_t, 12> layout{};
  bool operator<(const RankKey& o) const {
    if (objectives != o.objectives) return objectives < o.objectives;
    return layout < o.layout;
  }
};

double objective_value(const PlanResult& r, PlanObjective o, BudgetKind budget, const PlanOutcome& out) {
  switch (o) {
    case PlanObjective::time:
      return r.wall_clock_days;
    case PlanObjective::cost:
      return budget == BudgetKind::owned   ? r.cost_owned_usd
             : budget == BudgetKind::capex ? r.capex_usd
                                           : r.cost_rental_usd;
    case PlanObjective::energy:
      return r.energy_mwh;
    case PlanObjective::gpus:
      return static_cast<double>(out.contexts[r.context].gpus);
    case PlanObjective::power:
      return r.facility_mw;
    case PlanObjective::tokens:  // most tokens first: every objective is minimised
      return -tokens_within_deadline(out.contexts[r.context].scenario.training.tokens, r.wall_clock_days,
                                     out.request.constraints.deadline_days);
  }
  return 0;
}

RankKey rank_key(const PlanResult& r, const PlanOutcome& out) {
  RankKey k;
  const auto& req = out.request;
  for (auto o : req.objectives) k.objectives.push_back(objective_value(r, o, req.constraints.budget_kind, out));
  // Fewest GPUs: among equal counts the fastest.
  if (req.objectives.front() == PlanObjective::gpus) k.objectives.insert(k.objectives.begin() + 1, r.wall_clock_days);
  const auto& p = r.layout.par;
  k.layout = {r.context,
              p.tp,
              p.sp ? 1 : 0,
              p.pp,
              static_cast<int>(p.schedule),
              p.virtual_stages,
              p.dp,
              p.ep,
              p.cp,
              p.zero_stage,
              p.micro_batch_seqs,
              recompute_memory_rank(r.layout.recompute)};
  return k;
}

// Pareto metrics: every objective is minimised.
std::vector<double> pareto_point(const PlanResult& r, const PlanOutcome& out) {
  std::vector<double> v;
  for (auto o : out.request.objectives) v.push_back(objective_value(r, o, out.request.constraints.budget_kind, out));
  return v;
}
bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strictly = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

// "FILE: $.parallelism.tp: what" -> "$.parallelism.tp"
std::string refusal_rule(const std::string& what) {
  if (what.find("does not fit") != std::string::npos) return "memory";
  const auto at = what.find(": $");
  if (at == std::string::npos) return "plan_training";
  const auto end = what.find(": ", at + 2);
  return "plan_training " + what.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
}

// Per-thread state of the search.
struct Worker {
  PlanCounts counts;
  std::vector<std::pair<RankKey, PlanResult>> top;  // sorted, at most top_k
  std::vector<std::pair<std::vector<double>, PlanResult>> front;
  std::int64_t better_than_probe = 0;
  std::int64_t feasible_total = 0;
};

}  // namespace

// Contexts ---------------------------------------------------------------------------------------

std::vector<PlanContext> build_plan_contexts(const PlanRequest& req) {
  const Scenario base = parse_scenario(req.base, req.base_file);
  const std::string base_chip = base.gpu_variant.active ? base.gpu_variant.base_gpu : base.gpu.name;
  const auto& sp = req.space;
  std::vector<std::string> chips = sp.chips;
  if (chips.empty()) chips.push_back("");  // the base scenario's chip, as it states it
  std::vector<std::int64_t> sizes = sp.gpus;
  if (sizes.empty()) sizes.push_back(base.cluster.gpus);
  std::vector<std::int64_t> batches = sp.global_batch_seqs;
  if (sp.global_batch_tokens_max > 0) {
    // Whole sequences from the smallest batch holding `min` tokens, by the factor, up to `max`.
    const double seq = static_cast<double>(base.training.seq_len);
    for (auto b = static_cast<std::int64_t>(std::ceil(sp.global_batch_tokens_min / seq));
         b > 0 && static_cast<double>(b) * seq <= sp.global_batch_tokens_max * (1 + 1e-12) &&
         b <= limits::kMaxGlobalBatchSeqs;
         b *= sp.global_batch_tokens_factor)
      batches.push_back(b);
    if (batches.empty())
      throw InputError(req.file, "$.search.global_batch_tokens",
                       fmt::format("no whole number of {:g}-token sequences lies between {:g} and {:g} tokens", seq,
                                   sp.global_batch_tokens_min, sp.global_batch_tokens_max));
  }
  if (batches.empty()) batches.push_back(base.training.global_batch_seqs);
  std::vector<Precision> precisions = sp.precisions;
  if (precisions.empty()) precisions.push_back(base.training.precision);
  std::vector<FabricOption> fabrics = sp.fabrics;
  if (fabrics.empty()) fabrics.push_back({});  // the base cluster's network

  std::vector<PlanContext> out;
  for (std::size_t ci = 0; ci < chips.size(); ++ci) {
    const std::string& label = chips[ci];
    ChipLabel chip;
    if (!label.empty()) chip = parse_chip_label(label, req.file, fmt::format("$.search.chips[{}]", ci));
    for (auto n : sizes)
      for (const auto& fabric : fabrics)
        for (auto gbs : batches)
          for (auto prec : precisions) {
            PlanContext c;
            c.fabric = fabric.label;
            c.chip = label.empty()
                         ? (base.gpu_variant.active
                                ? fmt::format("{}@{}:{}", base_chip, base.gpu_variant.rule, base.gpu_variant.cap)
                                : base.gpu.name)
                         : label;
            c.gpus = n;
            c.global_batch_seqs = gbs;
            c.precision = prec;
            c.doc = req.base;
            nlohmann::json cluster = c.doc["cluster"];
            if (!label.empty()) {
              bool other_gpu = false;
              cluster = cluster_for_chip(cluster, base.cluster, base_chip, chip, other_gpu);
              if (other_gpu) c.doc.erase("profile");  // the new chip's own preferred profile
            }
            if (cluster.is_string()) cluster = nlohmann::json{{"file", cluster}};
            cluster["gpus"] = n;
            if (!fabric.cluster_overrides.is_null())
              for (const auto& [key, value] : fabric.cluster_overrides.items()) cluster[key] = value;
            c.doc["cluster"] = cluster;
            c.doc["training"]["global_batch_seqs"] = gbs;
            c.doc["training"]["precision"] = to_string(prec);
            // The base's FP8 scaling means nothing for a BF16 context (and is refused there).
            if (prec != Precision::fp8) c.doc["training"].erase("fp8_scaling");
            c.doc["parallelism"] = nlohmann::json::object();
            c.doc.erase("asymmetry");  // the analytical backend refuses it; the planner is analytical
            try {
              c.scenario = parse_scenario(c.doc, req.base_file);
            } catch (const InputError& e) {
              c.refused = e.what();
              c.refused_rule = "context (" + refusal_rule(e.what()) + ")";
              out.push_back(std::move(c));
              continue;
            }
            const auto& s = c.scenario;
            c.plan_gpu = s.gpu;
            c.plan_gpu.hbm_capacity_gb.value = std::numeric_limits<double>::max() / 1e10;
            c.fixed_power = !s.power.gpu_power_from_compute;
            if (c.fixed_power)
              c.footprint = cluster_footprint(s.cluster.gpus, s.gpu, s.cluster, s.power,
                                              s.power.gpu_power_fraction_of_tdp, s.cost);
            const auto& k = req.constraints;
            if (s.training.comm_sms > 0 && s.training.comm_sms >= s.gpu.sm_count.value) {
              c.refused = fmt::format("comm_sms {} is not fewer than the {} SMs of a {}", s.training.comm_sms,
                                      s.gpu.sm_count.value, s.gpu.name);
              c.refused_rule = "context (comm_sms)";
            } else if (!k.export_rule.empty() && classify(s.gpu, export_rules().find(k.export_rule)).controlled) {
              const auto v = classify(s.gpu, export_rules().find(k.export_rule));
              c.refused = fmt::format("{} is controlled under rule {} ({})", s.gpu.name, k.export_rule, v.category);
              c.refused_rule = "export_rule";
            } else if (c.fixed_power && k.power_mw > 0 && c.footprint.facility_mw > k.power_mw) {
              c.refused = fmt::format("{:.2f} MW facility power exceeds the cap of {:.2f} MW", c.footprint.facility_mw,
                                      k.power_mw);
              c.refused_rule = "power_cap";
            } else if (k.budget_usd > 0 && k.budget_kind == BudgetKind::capex && c.fixed_power &&
                       c.footprint.capex_usd > k.budget_usd) {
              c.refused =
                  fmt::format("capex ${:.4g} exceeds the budget of ${:.4g}", c.footprint.capex_usd, k.budget_usd);
              c.refused_rule = "budget";
            } else {
              c.ok = true;
            }
            out.push_back(std::move(c));
          }
  }
  return out;
}

// Enumeration ------------------------------------------------------------------------------------

namespace {

struct Enumeration {
  std::vector<Group> groups;
  std::int64_t candidates = 0;  // layouts in the groups
};

std::vector<int> divisors_up_to(std::int64_t n, std::int64_t max) {
  std::vector<int> d;
  for (std::int64_t i = 1; i <= std::min(n, max); ++i)
    if (n % i == 0) d.push_back(static_cast<int>(i));
  return d;
}

// The axes of one context's search space (the request's lists, or every value the model allows),
// and how many layouts each level of the enumeration holds, for exact counts of what is pruned.
struct ContextSpace {
  std::vector<int> tps, pps, vs, eps, cps, zeros;
  std::vector<PipelineSchedule> scheds;
  std::vector<std::int64_t> mbs;
  std::vector<Recompute> rcs;  // in recompute_memory_rank order
  std::vector<bool> sp_request;
  std::int64_t per_group = 0, per_zero = 0, per_ep = 0, per_schedule = 0, per_cp = 0, per_sp = 0;

  // Schedules (and virtual stages) of one pp: pp 1 runs no schedule (1f1b only).
  std::vector<std::pair<PipelineSchedule, int>> schedule_choices(int pp) const {
    if (pp == 1) return {{PipelineSchedule::one_f_one_b, 1}};
    std::vector<std::pair<PipelineSchedule, int>> out;
    for (auto s : scheds) {
      if (s == PipelineSchedule::interleaved)
        for (int v : vs) out.push_back({s, v});
      else
        out.push_back({s, 1});
    }
    return out;
  }
  std::int64_t per_pp(int pp) const { return static_cast<std::int64_t>(schedule_choices(pp).size()) * per_schedule; }
  std::vector<bool> sp_choices(int tp) const {
    if (tp == 1) return {false};
    if (sp_request.empty()) return {false, true};
    return sp_request;
  }
  std::int64_t per_tp(int tp) const { return static_cast<std::int64_t>(sp_choices(tp).size()) * per_sp; }
};

ContextSpace context_space(const PlanRequest& req, const PlanContext& c) {
  const auto& sp = req.space;
  const auto& m = c.scenario.model;
  ContextSpace x;
  x.tps = !sp.tp.empty() ? sp.tp : divisors_up_to(m.attention.heads, c.scenario.cluster.gpus_per_node);
  x.pps = sp.pp;
  if (x.pps.empty())
    for (int p = 1; p <= m.layers; ++p) x.pps.push_back(p);
  x.scheds = sp.schedules;
  if (x.scheds.empty())
    x.scheds = {PipelineSchedule::one_f_one_b, PipelineSchedule::interleaved, PipelineSchedule::zero_bubble,
                PipelineSchedule::dualpipe};
  x.vs = sp.virtual_stages;
  if (x.vs.empty()) x.vs = {2, 4, 8};
  x.eps = sp.ep;
  if (!m.moe)
    x.eps = {1};
  else if (x.eps.empty())
    x.eps = divisors_up_to(m.moe->routed_experts, m.moe->routed_experts);
  x.cps = !sp.cp.empty() ? sp.cp : std::vector<int>{1, 2, 4, 8};
  x.zeros = !sp.zero_stages.empty() ? sp.zero_stages : std::vector<int>{0, 1, 2, 3};
  x.mbs = !sp.micro_batch_seqs.empty() ? sp.micro_batch_seqs : std::vector<std::int64_t>{1, 2, 4, 8};
  x.rcs = sp.recompute;
  if (x.rcs.empty()) x.rcs = {Recompute::none, Recompute::selective, Recompute::full};
  std::sort(x.rcs.begin(), x.rcs.end(),
            [](Recompute a, Recompute b) { return recompute_memory_rank(a) < recompute_memory_rank(b); });
  x.rcs.erase(std::unique(x.rcs.begin(), x.rcs.end()), x.rcs.end());
  x.sp_request = sp.sp;
  x.per_group = static_cast<std::int64_t>(x.rcs.size());
  x.per_zero = static_cast<std::int64_t>(x.mbs.size()) * x.per_group;
  x.per_ep = static_cast<std::int64_t>(x.zeros.size()) * x.per_zero;
  x.per_schedule = static_cast<std::int64_t>(x.eps.size()) * x.per_ep;
  for (int pp : x.pps) x.per_cp += x.per_pp(pp);
  x.per_sp = static_cast<std::int64_t>(x.cps.size()) * x.per_cp;
  return x;
}

// One enumeration of one context: where its groups go and what its pre-checks prune.
struct ContextEnumeration {
  const PlanContext& c;
  const ContextSpace& x;
  int ci;
  bool prune;
  Enumeration& e;
  PlanCounts& counts;

  void pruned(const char* rule, std::int64_t n) { counts.pruned[rule] += n; }

  // TP must split the heads (and GQA's kv heads) and the FFN, within a node.
  bool tp_allowed(int tp) {
    const auto& m = c.scenario.model;
    const auto& a = m.attention;
    if (tp < 1 || a.heads % tp != 0 || (a.kind == AttentionKind::gqa && a.kv_heads % tp != 0 && tp % a.kv_heads != 0) ||
        m.ffn_intermediate % tp != 0) {
      pruned("tp_divides_heads_and_ffn", x.per_tp(tp));
      return false;
    }
    if (tp > c.scenario.cluster.gpus_per_node) {
      pruned("tp_within_node", x.per_tp(tp));
      return false;
    }
    // A scenario that states expert_tp keeps it in every layout: it must split each tp.
    const int stated_etp = c.scenario.parallelism.expert_tp;
    if (stated_etp > 0 && tp % stated_etp != 0) {
      pruned("expert_tp_divides_tp", x.per_tp(tp));
      return false;
    }
    return true;
  }

  // Experts split over TP ranks (expert_tp > 1) need sequence parallelism (check_layout).
  bool sp_allowed(int tp, bool seqpar) {
    Parallelism par = c.scenario.parallelism;
    par.tp = tp;
    if (c.scenario.model.moe && !seqpar && resolved_expert_tp(par, c.scenario.training) > 1) {
      pruned("expert_tp_needs_sp", x.per_sp);
      return false;
    }
    return true;
  }

  // The pipeline's chunks fit the layers (and the partition search's work); DualPipe needs an even pp.
  bool schedule_allowed(const Parallelism& par) {
    const auto& m = c.scenario.model;
    const std::int64_t chunks = static_cast<std::int64_t>(par.pp) * par.virtual_stages;
    const double steps = static_cast<double>(chunks) * (m.layers + 2.0) * (m.layers + 2.0) / 2;
    if (chunks > m.layers || steps > limits::kMaxPartitionSteps || par.virtual_stages < 1 ||
        (par.schedule == PipelineSchedule::interleaved && par.virtual_stages < 2)) {
      pruned("pp_chunks_within_layers", x.per_schedule);
      return false;
    }
    if (par.schedule == PipelineSchedule::dualpipe && par.pp % 2 != 0) {
      pruned("dualpipe_even_pp_and_micro_batches", x.per_schedule);
      return false;
    }
    return true;
  }

  // EP divides the experts, and EP x expert TP (one copy of the experts) the DP x TP x CP group
  // the experts are spread over.
  bool ep_allowed(const Parallelism& par) {
    const auto& m = c.scenario.model;
    const std::int64_t ranks = static_cast<std::int64_t>(par.dp) * par.tp * par.cp;
    if (par.ep < 1 || (par.ep > 1 && (m.moe->routed_experts % par.ep != 0 ||
                                      ranks % expert_copy_ranks(par, c.scenario.training) != 0))) {
      pruned("ep_divides_experts_and_dp_tp_cp", x.per_ep);
      return false;
    }
    return true;
  }

  // The global batch splits into whole micro-batches per replica, at least pp of them (even for DualPipe).
  bool batch_allowed(const Parallelism& par) {
    const std::int64_t mb = par.micro_batch_seqs;
    const std::int64_t per_step = static_cast<std::int64_t>(par.dp) * mb;
    if (mb < 1 || c.global_batch_seqs % per_step != 0) {
      pruned("batch_divisible_by_dp_micro_batch", x.per_group);
      return false;
    }
    const std::int64_t micro = c.global_batch_seqs / per_step;
    if (micro > limits::kMaxMicroBatches || (par.pp > 1 && micro < par.pp)) {
      pruned("micro_batches_at_least_pp", x.per_group);
      return false;
    }
    if (par.schedule == PipelineSchedule::dualpipe && micro % 2 != 0) {
      pruned("dualpipe_even_pp_and_micro_batches", x.per_group);
      return false;
    }
    return true;
  }

  // Schedules, EP, ZeRO stages and micro-batch sizes of one (tp, sp, cp, pp, dp).
  void pipeline_layouts(Parallelism par) {
    for (auto [sched, v] : x.schedule_choices(par.pp)) {
      par.schedule = sched;
      par.virtual_stages = v;
      if (prune && !schedule_allowed(par)) continue;
      for (int ep : x.eps) {
        par.ep = ep;
        if (prune && !ep_allowed(par)) continue;
        for (int z : x.zeros) {
          par.zero_stage = z;
          for (auto mb : x.mbs) {
            par.micro_batch_seqs = mb;
            if (prune && !batch_allowed(par)) continue;
            e.groups.push_back(Group{ci, par, x.rcs});
            e.candidates += x.per_group;
          }
        }
      }
    }
  }

  void run() {
    const std::int64_t N = c.gpus;
    for (int tp : x.tps) {
      if (prune && !tp_allowed(tp)) continue;
      for (bool seqpar : x.sp_choices(tp)) {
        if (prune && !sp_allowed(tp, seqpar)) continue;
        for (int cp : x.cps) {
          if (prune && (cp < 1 || c.scenario.training.seq_len % cp != 0)) {
            pruned("cp_divides_seq_len", x.per_cp);
            continue;
          }
          for (int pp : x.pps) {
            const std::int64_t replica = static_cast<std::int64_t>(tp) * cp * pp;
            if (pp < 1 || N % replica != 0) {
              // No data-parallel degree makes tp*cp*pp*dp the cluster: not a layout at all.
              pruned("gpus_divisible_by_tp_cp_pp", x.per_pp(pp));
              continue;
            }
            Parallelism par;
            par.tp = tp;
            par.expert_tp = c.scenario.parallelism.expert_tp;
            par.sp = seqpar;
            par.pp = pp;
            par.dp = static_cast<int>(N / replica);
            par.cp = cp;
            pipeline_layouts(par);
          }
        }
      }
    }
  }
};

// Every layout of the space for context `ci`; the pre-checks are those of check_layout
// (parallelism.cpp), in its order, so a layout they pass is one plan_training accepts (a test holds
// them to it: no refusal in the brute-force search that the pruned search did not predict).
void enumerate_context(const PlanRequest& req, const PlanContext& c, int ci, bool prune, Enumeration& e,
                       PlanCounts& counts) {
  const ContextSpace x = context_space(req, c);
  std::int64_t context_total = 0;
  for (int tp : x.tps) context_total += x.per_tp(tp);
  counts.enumerated += context_total;
  if (!c.ok) {
    counts.pruned[c.refused_rule] += context_total;
    return;
  }
  ContextEnumeration{c, x, ci, prune, e, counts}.run();
}

}  // namespace

// Evaluation -------------------------------------------------------------------------------------

namespace {

// Evaluates one layout. Returns false (and the rule) when it cannot run or breaks a constraint
// that ranks nothing; `r` holds the metrics whenever the estimate ran.
bool evaluate(const PlanRequest& req, const PlanContext& c, const PlanLayout& L, bool prune, PlanResult& r,
              std::string& rule) {
  const auto& s = c.scenario;
  TrainingSettings t = s.training;
  t.recompute = L.recompute;
  TrainingPlan plan;
  try {
    // Pruned search: HBM unbounded, so plan_training never throws for memory (no exception in the
    // hot path) and the memory test below is the same comparison against the real capacity.
    plan = plan_training(s.model, L.par, t, s.cluster, prune ? c.plan_gpu : s.gpu, s.file, PlanStages::critical);
  } catch (const InfeasibleError& e) {
    rule = refusal_rule(e.what());
    return false;
  }
  const double capacity = s.gpu.hbm_capacity_bytes();
  r.memory_bytes = plan.memory.total();
  r.memory_fraction = r.memory_bytes / capacity;
  if (r.memory_bytes > capacity) {
    rule = "memory";
    return false;
  }
  if (r.memory_bytes > capacity * (1 - req.constraints.memory_headroom)) {
    rule = "memory_headroom";
    return false;
  }
  const auto step = estimate_training_step(plan, s.cluster, s.gpu, s.profile, /*top_ops=*/false);
  const double gpus = static_cast<double>(s.cluster.gpus);
  r.step_time_s = step.step_time_s;
  r.tokens_per_s = step.tokens_per_s;
  r.tokens_per_step = plan.tokens_per_step;
  r.mfu = plan.flops_per_token.model_noncausal * step.tokens_per_s / gpus / s.gpu.peak_flops(Precision::bf16);
  const double run_s = s.training.tokens / step.tokens_per_s;
  r.days = run_s / 86400;
  const double fraction = s.power.gpu_power_from_compute
                              ? gpu_power_fraction_from_compute(step.compute_fraction, s.power.gpu_idle_fraction_of_tdp)
                              : s.power.gpu_power_fraction_of_tdp;
  const ClusterFootprint fp =
      c.fixed_power ? c.footprint : cluster_footprint(s.cluster.gpus, s.gpu, s.cluster, s.power, fraction, s.cost);
  const auto g = estimate_goodput(s.cluster.gpus, run_s, step.step_time_s,
                                  plan.params.total * s.reliability.checkpoint_bytes_per_param, s.reliability);
  r.goodput = g.goodput_fraction;
  r.wall_clock_days = g.wall_s / 86400;
  r.gpu_hours = gpus * g.wall_s / 3600;
  r.cost_rental_usd = s.cost.usd_per_gpu_hour * r.gpu_hours;
  r.cost_owned_usd = fp.usd_per_gpu_hour_owned * r.gpu_hours;
  r.capex_usd = fp.capex_usd;
  r.facility_mw = fp.facility_mw;
  r.energy_mwh = fp.facility_mw * g.wall_s / 3600;
  r.bottleneck = step.bottleneck;
  for (std::size_t i = 0; i < kPlanBreakdownKeys.size(); ++i) {
    const auto it = step.breakdown_s.find(kPlanBreakdownKeys[i]);
    r.breakdown_s[i] = it == step.breakdown_s.end() ? 0 : it->second;
  }
  const auto& k = req.constraints;
  // With the tokens objective the deadline is the window the tokens fit in, not a constraint.
  if (k.deadline_days > 0 && !req.asks(PlanObjective::tokens) && r.wall_clock_days > k.deadline_days)
    rule = "deadline";
  else if (k.power_mw > 0 && r.facility_mw > k.power_mw)
    rule = "power_cap";
  else if (k.budget_usd > 0 && (k.budget_kind == BudgetKind::rental  ? r.cost_rental_usd
                                : k.budget_kind == BudgetKind::owned ? r.cost_owned_usd
                                                                     : r.capex_usd) > k.budget_usd)
    rule = "budget";
  else if (k.min_goodput > 0 && r.goodput < k.min_goodput)
    rule = "goodput";
  return rule.empty();
}

void keep_top(Worker& w, RankKey key, PlanResult r, std::size_t k) {
  if (w.top.size() >= k && !(key < w.top.back().first)) return;
  auto pos =
      std::upper_bound(w.top.begin(), w.top.end(), key, [](const RankKey& a, const auto& b) { return a < b.first; });
  w.top.insert(pos, {std::move(key), std::move(r)});
  if (w.top.size() > k) w.top.pop_back();
}

void keep_front(std::vector<std::pair<std::vector<double>, PlanResult>>& front, std::vector<double> p,
                const PlanResult& r) {
  for (const auto& [q, _] : front)
    if (dominates(q, p)) return;
  front.erase(std::remove_if(front.begin(), front.end(), [&](const auto& e) { return dominates(p, e.first); }),
              front.end());
  front.push_back({std::move(p), r});
}

// The base scenario's own layout, when it is in the space: evaluated here, its rank counted during
// the search (how many feasible layouts rank before it).
std::optional<RankKey> probe_base_layout(const PlanRequest& req, PlanOutcome& out) {
  if (!req.base_layout) return std::nullopt;
  const Scenario base = parse_scenario(req.base, req.base_file);
  for (std::size_t ci = 0; ci < out.contexts.size(); ++ci) {
    const auto& c = out.contexts[ci];
    if (!c.ok) continue;
    if (c.gpus != base.cluster.gpus || c.global_batch_seqs != base.training.global_batch_seqs ||
        c.precision != base.training.precision || c.scenario.gpu.name != base.gpu.name)
      continue;
    std::optional<RankKey> probe;
    PlanResult r;
    r.context = static_cast<int>(ci);
    r.layout = PlanLayout{base.parallelism, base.training.recompute};
    std::string rule;
    out.probe_context = static_cast<int>(ci);
    if (evaluate(req, c, r.layout, true, r, rule))
      probe = rank_key(r, out);
    else
      out.probe_refused = rule;
    r.key = context_key(c) + " | " + layout_string(r.layout);
    out.probe = r;
    return probe;
  }
  return std::nullopt;
}

// What the worker threads share: the groups, the next one to take, the layouts done so far.
struct Search {
  const PlanRequest& req;
  const PlanOptions& options;
  const Enumeration& e;
  const PlanOutcome& out;
  const std::optional<RankKey>& probe;
  std::size_t k = 1;
  std::atomic<std::int64_t> done{0};

  // One group's recomputation settings, least memory first: once one does not fit, the rest
  // (which keep more activations, recompute_memory_rank) cannot either.
  void evaluate_group(Worker& w, const Group& grp) {
    const auto& c = out.contexts[grp.context];
    for (std::size_t ri = 0; ri < grp.recompute.size(); ++ri) {
      PlanResult r;
      r.context = grp.context;
      r.layout = PlanLayout{grp.par, grp.recompute[ri]};
      std::string rule;
      ++w.counts.evaluated;
      if (!evaluate(req, c, r.layout, options.prune, r, rule)) {
        ++w.counts.infeasible[rule];
        if (options.prune && rule.rfind("plan_training", 0) == 0) ++w.counts.unexpected_refusals;
        if (options.prune && (rule == "memory" || rule == "memory_headroom")) {
          const auto left = static_cast<std::int64_t>(grp.recompute.size() - ri - 1);
          if (left > 0) w.counts.pruned["memory_ordered_by_recompute"] += left;
          done += left + 1;
          return;
        }
        ++done;
        continue;
      }
      ++done;
      ++w.counts.feasible;
      auto key = rank_key(r, out);
      if (probe && key < *probe) ++w.better_than_probe;
      if (req.objectives.size() > 1) keep_front(w.front, pareto_point(r, out), r);
      keep_top(w, std::move(key), std::move(r), k);
    }
  }

  // This process's groups (every `ranks`-th from `rank`) on a pool of threads, one Worker each.
  void run(std::vector<Worker>& workers) {
    StripedWork work;
    work.items = e.groups.size();
    work.threads = static_cast<int>(workers.size());
    work.rank = options.rank;
    work.ranks = options.ranks;
    work.run_item = [&](int w, std::size_t gi) { evaluate_group(workers[static_cast<std::size_t>(w)], e.groups[gi]); };
    work.progress = options.progress;
    work.done = [this] { return done.load(); };
    work.total = e.candidates;
    run_striped(work);
  }
};

// Merges the workers in worker order; every step is order-independent (sums, a total order, a
// unique front), so the outcome is the same for any thread count.
void merge_workers(std::vector<Worker>& workers, std::size_t k, const std::optional<RankKey>& probe, PlanOutcome& out) {
  std::vector<std::pair<RankKey, PlanResult>> all_top;
  std::vector<std::pair<std::vector<double>, PlanResult>> front;
  std::int64_t better = 0;
  for (auto& w : workers) {
    out.counts.evaluated += w.counts.evaluated;
    out.counts.feasible += w.counts.feasible;
    out.counts.unexpected_refusals += w.counts.unexpected_refusals;
    for (auto& [rule, n] : w.counts.infeasible) out.counts.infeasible[rule] += n;
    for (auto& [rule, n] : w.counts.pruned) out.counts.pruned[rule] += n;
    for (auto& t : w.top) all_top.push_back(std::move(t));
    for (auto& f : w.front) keep_front(front, f.first, f.second);
    better += w.better_than_probe;
  }
  std::sort(all_top.begin(), all_top.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (all_top.size() > k) all_top.resize(k);
  for (auto& [key, r] : all_top) out.top.push_back(r);
  std::sort(front.begin(), front.end(),
            [&](const auto& a, const auto& b) { return rank_key(a.second, out) < rank_key(b.second, out); });
  for (auto& [p, r] : front) out.pareto.push_back(r);
  for (auto& r : out.top) r.key = context_key(out.contexts[r.context]) + " | " + layout_string(r.layout);
  for (auto& r : out.pareto) r.key = context_key(out.contexts[r.context]) + " | " + layout_string(r.layout);
  out.ranked = out.top;
  if (probe) out.probe_rank = better + 1;
}

// Across MPI ranks: each rank's workers travel as one partial (their counts summed, their tops
// and fronts side by side); rank 0 turns every rank's partial back into a worker, rank keys and
// Pareto points recomputed from the same contexts, and merges them as it merges threads.
PlanPartial partial_of(const std::vector<Worker>& workers) {
  PlanPartial p;
  for (const auto& w : workers) {
    p.counts.evaluated += w.counts.evaluated;
    p.counts.feasible += w.counts.feasible;
    p.counts.unexpected_refusals += w.counts.unexpected_refusals;
    for (const auto& [rule, n] : w.counts.infeasible) p.counts.infeasible[rule] += n;
    for (const auto& [rule, n] : w.counts.pruned) p.counts.pruned[rule] += n;
    for (const auto& t : w.top) p.top.push_back(t.second);
    for (const auto& f : w.front) p.front.push_back(f.second);
    p.better_than_probe += w.better_than_probe;
  }
  return p;
}

Worker worker_of(PlanPartial p, const PlanOutcome& out) {
  Worker w;
  w.counts = std::move(p.counts);
  for (auto& r : p.top) w.top.emplace_back(rank_key(r, out), std::move(r));
  for (auto& r : p.front) w.front.emplace_back(pareto_point(r, out), std::move(r));
  w.better_than_probe = p.better_than_probe;
  return w;
}

// Sends this rank's workers to rank 0; there, replaces them with every rank's. False elsewhere.
bool gather_ranks(const PlanOptions& options, std::vector<Worker>& workers, const PlanOutcome& out) {
  if (options.ranks <= 1) return true;
  const auto partials = options.gather(serialize_partial(partial_of(workers)));
  if (options.rank != 0) return false;
  workers.clear();
  for (const auto& text : partials) workers.push_back(worker_of(parse_partial(text), out));
  return true;
}

// Why #1 beats #2: the breakdown term that differs most (per step, or per million tokens when the
// two steps hold different token counts).
std::string why_the_winner(const PlanRequest& req, const PlanOutcome& out) {
  if (out.top.empty()) return "no layout meets the constraints";
  if (out.top.size() == 1) return "only one layout meets the constraints";
  const auto& a = out.top[0];
  const auto& b = out.top[1];
  const bool same_tokens = a.tokens_per_step == b.tokens_per_step;
  auto norm = [&](const PlanResult& r, double v) { return same_tokens ? v : v / r.tokens_per_step * 1e6; };
  std::size_t worst = 0;
  double worst_d = 0;
  for (std::size_t i = 0; i < kPlanBreakdownKeys.size(); ++i) {
    const double d = norm(b, b.breakdown_s[i]) - norm(a, a.breakdown_s[i]);
    if (std::fabs(d) > std::fabs(worst_d)) worst_d = d, worst = i;
  }
  const auto obj = req.objectives.front();
  const double va = objective_value(a, obj, req.constraints.budget_kind, out);
  const double vb = objective_value(b, obj, req.constraints.budget_kind, out);
  if (va == vb && worst_d == 0)
    return fmt::format(
        "#1 and #2 tie on {} (no breakdown term differs; ranked by the layout's canonical order); #2: {}",
        to_string(obj), layout_string(b.layout));
  return fmt::format("#1 beats #2 by {:.2f}% on {}: the largest difference is {} ({:.4g} s vs {:.4g} s {}; #2: {})",
                     vb != 0 ? 100 * (vb - va) / std::fabs(vb) : 0.0, to_string(obj), kPlanBreakdownKeys[worst],
                     norm(a, a.breakdown_s[worst]), norm(b, b.breakdown_s[worst]),
                     same_tokens ? "per step" : "per million tokens", layout_string(b.layout));
}

}  // namespace

PlanOutcome run_plan(const PlanRequest& req, const PlanOptions& options) {
  PlanOutcome out;
  out.request = req;
  if (req.objectives.empty()) throw InputError(req.file, "$.objectives", "expected at least one objective");
  out.contexts = build_plan_contexts(req);

  Enumeration e;
  for (std::size_t ci = 0; ci < out.contexts.size(); ++ci)
    enumerate_context(req, out.contexts[ci], static_cast<int>(ci), options.prune, e, out.counts);
  const std::optional<RankKey> probe = probe_base_layout(req, out);

  const std::size_t k = static_cast<std::size_t>(std::max(1, req.top_k));
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, 256));
  std::vector<Worker> workers(threads);
  Search search{req, options, e, out, probe, k};
  search.run(workers);
  if (!gather_ranks(options, workers, out)) {
    out.root = false;
    return out;
  }
  merge_workers(workers, k, probe, out);

  out.reason = why_the_winner(req, out);
  if (!out.top.empty()) {
    Scenario winner = out.contexts[out.top[0].context].scenario;
    winner.parallelism = out.top[0].layout.par;
    winner.training.recompute = out.top[0].layout.recompute;
    out.error_band = training_error_band(cached_validation_record(default_validation_record_path()), region_of(winner),
                                         "analytical");
  }
  return out;
}

}  // namespace gwsim
