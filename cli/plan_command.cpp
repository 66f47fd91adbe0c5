// gwsim plan PLAN.json | --model M --tokens T --gpu G --gpus A:B [...] | --scenario S --search parallelism
//   [--objective time,cost] [--deadline-days D] [--power-mw P] [--budget-usd B] [--export-rule R]
//   [--json FILE] [--csv FILE] [--emit DIR] [--verify des] [--threads N] [--quiet]
// Under `mpirun -n N` the search is split over the N processes; rank 0 prints and writes.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/json_input.h"
#include "gwsim/common/output_file.h"
#include "gwsim/hwmodels/export_controls.h"
#include "gwsim/sim/planning/chip_swap.h"
#include "gwsim/sim/planning/plan.h"
#include "gwsim/sim/planning/serving_plan.h"
#include "gwsim/sim/report/report.h"
#include "mpi_world.h"

namespace gwsim::cli {

namespace {

struct Options {
  std::string plan_file, serving;
  std::string scenario, search, model;
  std::vector<std::string> chips, objectives;
  std::string gpus;
  double tokens = 0;
  std::int64_t global_batch = 0;
  std::string global_batch_tokens;  // "A:B" tokens
  std::string precision, framework;
  double deadline_days = 0, power_mw = 0, budget_usd = 0, min_goodput = 0, memory_headroom = -1;
  std::string budget_kind, export_rule;
  int top_k = 0;
  std::string json_out, csv_out, emit_dir, verify;
  int threads = 0;
  bool quiet = false;
};

// "1024:16384" (doubling), "1024:16384:1024" (step), "1024,2048" or "2048".
nlohmann::json gpus_value(const std::string& text) {
  auto number = [&](const std::string& s) -> std::int64_t {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty() || v < 1)
      throw InputError("command line", "--gpus",
                       fmt::format("\"{}\": expected N, A:B (doubling), A:B:STEP or A,B,C", text));
    return v;
  };
  if (text.find(':') != std::string::npos) {
    const auto a = text.find(':'), b = text.find(':', a + 1);
    nlohmann::json r = {{"min", number(text.substr(0, a))},
                        {"max", number(text.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1))}};
    if (b != std::string::npos) r["step"] = number(text.substr(b + 1));
    return r;
  }
  nlohmann::json list = nlohmann::json::array();
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    list.push_back(number(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return list;
}

// The command-line query as a gwsim.plan/1 document (one reader for both forms).
nlohmann::json query_from_flags(const Options& o) {
  nlohmann::json q = {{"schema", "gwsim.plan/1"}};
  if (!o.scenario.empty()) {
    q["scenario"] = o.scenario;
    if (!o.search.empty() && o.search != "parallelism")
      throw InputError("command line", "--search", fmt::format("\"{}\": expected parallelism", o.search));
    if (o.search == "parallelism" && (!o.gpus.empty() || !o.chips.empty() || o.global_batch > 0 ||
                                      !o.global_batch_tokens.empty() || !o.precision.empty()))
      throw InputError("command line", "--search",
                       "parallelism keeps the scenario's cluster and batch: expected no --gpus, --gpu, --global-batch "
                       "or --precision");
  } else {
    if (o.model.empty()) throw InputError("command line", "", "expected PLAN.json, --model or --scenario");
    q["model"] = o.model;
    if (o.chips.empty())
      throw InputError("command line", "--gpu", "expected the chip(s) to plan for, e.g. --gpu H800-SXM");
    if (o.gpus.empty())
      throw InputError("command line", "--gpus", "expected the cluster sizes, e.g. --gpus 1024:16384");
    if (!(o.tokens > 0)) throw InputError("command line", "--tokens", "expected the run's tokens, e.g. --tokens 15e12");
    const auto at = o.chips.front().find('@');
    q["gpu"] = o.chips.front().substr(0, at);
    q["tokens"] = o.tokens;
    if (o.global_batch > 0) q["global_batch_seqs"] = o.global_batch;
    if (!o.framework.empty()) q["framework"] = o.framework;
    if (!o.precision.empty()) q["precision"] = o.precision;
  }
  nlohmann::json search = nlohmann::json::object();
  if (!o.chips.empty()) search["chips"] = o.chips;
  if (!o.gpus.empty()) search["gpus"] = gpus_value(o.gpus);
  if (!o.scenario.empty() && o.global_batch > 0) search["global_batch_seqs"] = {o.global_batch};
  if (!o.global_batch_tokens.empty()) {
    if (o.global_batch > 0)
      throw InputError("command line", "--global-batch-tokens", "expected either --global-batch or this, not both");
    const auto colon = o.global_batch_tokens.find(':');
    double lo = 0, hi = 0;
    try {
      std::size_t a = 0, b = 0;
      lo = std::stod(o.global_batch_tokens.substr(0, colon), &a);
      hi = colon == std::string::npos ? 0 : std::stod(o.global_batch_tokens.substr(colon + 1), &b);
      if (a != colon || colon + 1 + b != o.global_batch_tokens.size()) lo = 0;
    } catch (const std::exception&) {
      lo = 0;
    }
    if (!(lo > 0) || !(hi > 0))
      throw InputError("command line", "--global-batch-tokens",
                       fmt::format("\"{}\": expected MIN:MAX tokens, e.g. 4e6:16e6", o.global_batch_tokens));
    search["global_batch_tokens"] = {{"min", lo}, {"max", hi}};
  }
  if (!o.scenario.empty() && !o.precision.empty()) search["precision"] = {o.precision};
  if (!search.empty()) q["search"] = search;
  nlohmann::json k = nlohmann::json::object();
  if (o.deadline_days != 0) k["deadline_days"] = o.deadline_days;
  if (o.power_mw != 0) k["power_mw"] = o.power_mw;
  if (o.budget_usd != 0) k["budget_usd"] = o.budget_usd;
  if (!o.budget_kind.empty()) k["budget_kind"] = o.budget_kind;
  if (!o.export_rule.empty()) k["export_rule"] = o.export_rule;
  if (o.min_goodput != 0) k["min_goodput"] = o.min_goodput;
  if (o.memory_headroom >= 0) k["memory_headroom"] = o.memory_headroom;
  if (!k.empty()) q["constraints"] = k;
  if (!o.objectives.empty()) q["objectives"] = o.objectives;
  if (o.top_k != 0) q["top_k"] = o.top_k;
  return q;
}

bool query_flags_given(const Options& o) {
  return !o.scenario.empty() || !o.model.empty() || !o.chips.empty() || !o.gpus.empty() || o.tokens != 0 ||
         o.global_batch != 0 || !o.global_batch_tokens.empty() || !o.precision.empty() || !o.framework.empty() ||
         o.deadline_days != 0 || o.power_mw != 0 || o.budget_usd != 0 || !o.budget_kind.empty() ||
         !o.export_rule.empty() || o.min_goodput != 0 || o.memory_headroom >= 0 || !o.objectives.empty() ||
         o.top_k != 0 || !o.search.empty();
}

// Progress on stderr: a \r bar with the count and ETA on a terminal, a plain line every 5 s otherwise.
class Progress {
 public:
  Progress(bool enabled, std::string unit)
      : enabled_(enabled), tty_(isatty(2) != 0), unit_(std::move(unit)), start_(Clock::now()), last_(start_) {}
  void operator()(std::int64_t done, std::int64_t total) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (!tty_ && std::chrono::duration<double>(now - last_).count() < 5 && done < total) return;
    last_ = now;
    const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0;
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1;
    if (tty_) {
      const int width = 30, filled = static_cast<int>(frac * width);
      std::cerr << fmt::format("\rgwsim plan [{}{}] {}/{} {}, {:.0f}/s, ETA {:.0f} s   ", std::string(filled, '#'),
                               std::string(width - filled, '.'), done, total, unit_, elapsed > 0 ? done / elapsed : 0.0,
                               eta);
      if (done >= total) std::cerr << "\n";
    } else if (!(done >= total && printed_final_)) {
      std::cerr << fmt::format("gwsim plan: {}/{} {} ({:.0f}%), {:.1f} s, ETA {:.0f} s\n", done, total, unit_,
                               100 * frac, elapsed, eta);
      printed_final_ = done >= total;
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_, tty_;
  std::string unit_;
  Clock::time_point start_, last_;
  bool printed_final_ = false;
};

// The search's threads, progress (rank 0 alone reports) and MPI split, for either planner.
PlanOptions search_options(const Options& o, const MpiWorld* mpi, Progress& progress) {
  PlanOptions options;
  options.threads = o.threads;
  if (!o.quiet && (mpi == nullptr || mpi->rank() == 0))
    options.progress = [&progress](std::int64_t d, std::int64_t t) { progress(d, t); };
  if (mpi && mpi->size() > 1) {
    options.rank = mpi->rank();
    options.ranks = mpi->size();
    options.gather = [mpi](const std::string& mine) { return mpi->gather(mine); };
  }
  return options;
}

void create_emit_folder(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw InputError("command line", "--emit", fmt::format("{}: cannot create the folder ({})", dir, ec.message()));
}

// Runs one plan query: the search (split over MPI ranks when `mpi` has several), then, on rank 0,
// the files and the summary.
void run_plan_command(const Options& o, const MpiWorld* mpi) {
  PlanRequest req;
  if (!o.plan_file.empty()) {
    if (query_flags_given(o))
      throw InputError("command line", "", "expected a plan file or query flags (--model, --scenario ...), not both");
    req = load_plan_request(o.plan_file);
  } else {
    req = parse_plan_request(query_from_flags(o), "command line");
  }
  const bool speaks = mpi == nullptr || mpi->rank() == 0;
  Progress progress(!o.quiet && speaks, "layouts");
  const PlanOptions options = search_options(o, mpi, progress);
  auto outcome = run_plan(req, options);
  if (!outcome.root) return;
  if (o.verify == "des") verify_top_with_des(outcome);
  // Everything is built before anything is written: all files or none.
  std::vector<OutputFile> files;
  if (!o.json_out.empty()) files.push_back({o.json_out, plan_report_json(outcome).dump(1) + "\n", "--json"});
  if (!o.csv_out.empty()) files.push_back({o.csv_out, plan_report_csv(outcome), "--csv"});
  if (!o.emit_dir.empty()) {
    for (std::size_t i = 0; i < outcome.top.size(); ++i)
      files.push_back({fmt::format("{}/rank-{:02}.json", o.emit_dir, i + 1),
                       plan_result_scenario(outcome, outcome.top[i], static_cast<int>(i + 1)).dump(2) + "\n",
                       "--emit"});
    create_emit_folder(o.emit_dir);
  }
  write_files_atomically(files);
  if (!o.quiet) std::cout << format_plan(outcome);
}

// The flags a serving plan takes override what its file says (docs/planner.md, "Serving fleets").
void apply_serving_flags(const Options& o, ServingPlanRequest& req) {
  if (!o.plan_file.empty())
    throw InputError("command line", "--serving", "expected --serving FILE or PLAN.json, not both");
  const bool training_only = !o.scenario.empty() || !o.search.empty() || !o.model.empty() || !o.gpus.empty() ||
                             o.tokens != 0 || o.global_batch != 0 || !o.global_batch_tokens.empty() ||
                             !o.precision.empty() || !o.framework.empty() || o.deadline_days != 0 ||
                             o.budget_usd != 0 || !o.budget_kind.empty() || o.min_goodput != 0 ||
                             o.memory_headroom >= 0 || !o.csv_out.empty() || !o.verify.empty();
  if (training_only)
    throw InputError("command line", "--serving",
                     "expected only --gpu, --objective, --export-rule, --power-mw, --top-k, --json, --emit, --threads "
                     "and --quiet with it (the other flags plan training)");
  if (!o.chips.empty()) {
    req.space.chips.clear();
    for (const auto& chip : o.chips) {
      parse_chip_label(chip, "command line", "--gpu");
      req.space.chips.push_back(chip);
    }
  }
  if (!o.objectives.empty()) {
    if (o.objectives.size() > 1) throw InputError("command line", "--objective", "expected one of cost, gpus, power");
    const auto& v = o.objectives.front();
    if (v != "cost" && v != "gpus" && v != "power")
      throw InputError("command line", "--objective", fmt::format("\"{}\": expected cost, gpus or power", v));
    req.objective = v == "gpus"    ? ServingObjective::gpus
                    : v == "power" ? ServingObjective::power
                                   : ServingObjective::cost;
  }
  if (!o.export_rule.empty()) {
    require_export_rule(o.export_rule, "command line", "--export-rule");
    req.export_rule = o.export_rule;
  }
  if (o.power_mw != 0) {
    if (!(o.power_mw > 0)) throw InputError("command line", "--power-mw", "expected a positive cap in MW");
    req.power_mw = o.power_mw;
  }
  if (o.top_k != 0) {
    if (o.top_k < 1 || o.top_k > 1000) throw InputError("command line", "--top-k", "expected 1 to 1000");
    req.top_k = o.top_k;
  }
}

// gwsim plan --serving: size fleets with the request simulator; rank 0 prints and writes.
void run_serving_plan_command(const Options& o, const MpiWorld* mpi) {
  ServingPlanRequest req = load_serving_plan_request(o.serving);
  apply_serving_flags(o, req);
  const bool speaks = mpi == nullptr || mpi->rank() == 0;
  Progress progress(!o.quiet && speaks, "candidates");
  const PlanOptions options = search_options(o, mpi, progress);
  const auto outcome = run_serving_plan(req, options);
  if (!outcome.root) return;
  std::vector<OutputFile> files;
  if (!o.json_out.empty()) files.push_back({o.json_out, serving_plan_report_json(outcome).dump(1) + "\n", "--json"});
  if (!o.emit_dir.empty()) {
    const std::size_t k = std::min(outcome.ranked.size(), static_cast<std::size_t>(req.top_k));
    for (std::size_t i = 0; i < k; ++i) {
      nlohmann::json sc = outcome.ranked[i].scenario;
      sc["name"] = fmt::format("{}-plan-rank-{:02}", sc.value("name", "serving"), i + 1);
      files.push_back({fmt::format("{}/rank-{:02}.json", o.emit_dir, i + 1), sc.dump(2) + "\n", "--emit"});
    }
    create_emit_folder(o.emit_dir);
  }
  write_files_atomically(files);
  if (!o.quiet) std::cout << format_serving_plan(outcome);
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "plan", "Search layouts, cluster sizes and chips under deadlines, power, budget and export rules");
  cmd->add_option("plan", opt->plan_file, "Plan JSON file (schema gwsim.plan/1)");
  cmd->add_option("--serving", opt->serving,
                  "Plan a serving fleet: a serving scenario with \"requests\" (gwsim.serving/1) or a serving plan "
                  "(gwsim.serving-plan/1)");
  cmd->add_option("--scenario", opt->scenario, "Base scenario: search its layout (with --search parallelism) or more");
  cmd->add_option("--search", opt->search, "parallelism: keep the scenario's cluster and batch, search the layout");
  cmd->add_option("--model", opt->model, "Model (catalogue name or .json) when no scenario is given");
  cmd->add_option("--gpu", opt->chips, "Chip(s): NAME or NAME@RULE:CAP (comma-separated)")->delimiter(',');
  cmd->add_option("--gpus", opt->gpus, "Cluster sizes: N, A:B (doubling), A:B:STEP or A,B,C");
  cmd->add_option("--tokens", opt->tokens, "Tokens of the run (with --model)");
  cmd->add_option("--global-batch", opt->global_batch, "Global batch in sequences");
  cmd->add_option("--global-batch-tokens", opt->global_batch_tokens,
                  "Global batches to search, MIN:MAX tokens (whole sequences, doubling)");
  cmd->add_option("--precision", opt->precision, "bf16, fp16 or fp8");
  cmd->add_option("--framework", opt->framework, "megatron, deepspeed, fsdp or deepseek (with --model)");
  cmd->add_option("--objective", opt->objectives,
                  "time, cost, energy, gpus, power, tokens (the largest token budget within --deadline-days); several: "
                  "Pareto front")
      ->delimiter(',');
  cmd->add_option("--deadline-days", opt->deadline_days, "Wall-clock days the run must finish in");
  cmd->add_option("--power-mw", opt->power_mw, "Facility power cap in MW");
  cmd->add_option("--budget-usd", opt->budget_usd, "Budget in dollars");
  cmd->add_option("--budget-kind", opt->budget_kind, "rental (default), owned or capex");
  cmd->add_option("--export-rule", opt->export_rule, "Every chip must be outside this export rule (e.g. 2023-10)");
  cmd->add_option("--min-goodput", opt->min_goodput, "Minimum goodput fraction");
  cmd->add_option("--memory-headroom", opt->memory_headroom, "Fraction of HBM to leave free");
  cmd->add_option("--top-k", opt->top_k, "Layouts to list (default 10)");
  cmd->add_option("--json", opt->json_out, "Write the report (gwsim.plan-report/1) here");
  cmd->add_option("--csv", opt->csv_out, "Write the top layouts as CSV here");
  cmd->add_option("--emit", opt->emit_dir, "Write each top layout as a scenario into this folder");
  cmd->add_option("--verify", opt->verify, "des: re-simulate the top layouts with the des backend")
      ->check(CLI::IsMember({"des"}));
  cmd->add_option("--threads", opt->threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 256));
  cmd->add_flag("--quiet", opt->quiet, "No progress and no summary");
  cmd->callback([opt] {
    const auto mpi = MpiWorld::join_if_launched();
    // Only rank 0 speaks: every rank reads the same input, so an input error is the same line on
    // each, and the results all reach rank 0.
    if (mpi && mpi->rank() != 0) std::cerr.setstate(std::ios::badbit);
    try {
      // A serving plan file runs the serving planner whichever way it is given.
      if (opt->serving.empty() && !opt->plan_file.empty()) {
        const auto doc = parse_json_file(opt->plan_file);
        if (doc.is_object() && doc.contains("schema") && doc["schema"] == "gwsim.serving-plan/1")
          std::swap(opt->serving, opt->plan_file);
      }
      if (!opt->serving.empty())
        run_serving_plan_command(*opt, mpi.get());
      else
        run_plan_command(*opt, mpi.get());
    } catch (const InputError&) {
      throw;  // raised alike on every rank, before any of them gathers
    } catch (const std::exception& e) {
      // An error one rank alone meets would leave the others waiting in the gather: end them all.
      if (mpi && mpi->size() > 1) {
        std::fprintf(stderr, "gwsim: internal error on MPI rank %d: %s\n", mpi->rank(), e.what());
        mpi->abort(1);
      }
      throw;
    }
  });
}

}  // namespace gwsim::cli
