// Headless tests of gwsim-gui (QT_QPA_PLATFORM=offscreen, set by ctest): every
// shipped scenario opens and its charts hold the report's numbers; what-ifs
// re-run and change the charts; errors show the CLI's message and keep pinned
// runs; stale runs are dropped; the PNG render is not blank.
#include <QAbstractBarSeries>
#include <QBarSet>
#include <QComboBox>
#include <QDir>
#include <QImage>
#include <QLineSeries>
#include <QScatterSeries>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>

#include "dashboard.h"
#include "gwsim/common/input_error.h"
#include "gwsim/common/paths.h"
#include "gwsim/sim/input/scenario.h"
#include "gwsim/sim/planning/plan.h"
#include "gwsim/sim/planning/rl/rl_report.h"
#include "gwsim/sim/planning/serving.h"
#include "gwsim/sim/report/report.h"
#include "gwsim/sim/requests/simulator.h"
#include "main_window.h"
#include "pinned_runs.h"
#include "plan_view.h"
#include "render.h"
#include "rl_dashboard.h"
#include "run_worker.h"
#include "serving_dashboard.h"
#include "serving_steady_view.h"
#include "what_if_panel.h"

using gwsim::gui::MainWindow;

namespace {

constexpr int kRunTimeoutMs = 60000;

QString scenario_path(const QString& name) { return QString::fromStdString(gwsim::data_dir()) + "/scenarios/" + name; }

QBarSet* set_named(QAbstractBarSeries* series, const QString& label) {
  for (QBarSet* set : series->barSets())
    if (set->label() == label) return set;
  return nullptr;
}

QString pretty(const std::string& key) { return QString::fromStdString(key).replace('_', ' '); }

// The numbers the charts must show: the same calls `gwsim run` makes.
nlohmann::json cli_report(const QString& path, const std::vector<std::string>& overrides = {}) {
  return gwsim::run_training(gwsim::load_scenario(path.toStdString(), overrides)).report;
}

void check_charts_hold(const gwsim::gui::Dashboard* dash, const nlohmann::json& report) {
  QAbstractBarSeries* breakdown = dash->breakdownSeries();
  QVERIFY(breakdown);
  for (const auto& [key, value] : report["training"]["breakdown_s"].items()) {
    QBarSet* set = set_named(breakdown, pretty(key));
    QVERIFY2(set, qPrintable("no bar set for " + QString::fromStdString(key)));
    QCOMPARE(set->at(0), value.get<double>());
  }
  QAbstractBarSeries* memory = dash->memorySeries();
  QVERIFY(memory);
  for (const auto& [key, value] : report["memory"]["per_gpu_gib"].items()) {
    if (key == "total") continue;
    QBarSet* set = set_named(memory, pretty(key));
    QVERIFY2(set, qPrintable("no memory bar for " + QString::fromStdString(key)));
    QCOMPARE(set->at(0), value.get<double>());
  }
  QBarSet* capacity = set_named(memory, "HBM capacity");
  QVERIFY(capacity);
  QCOMPARE(capacity->at(1), report["memory"]["capacity_gib"].get<double>());
  QCOMPARE(dash->cardText("mfu"), QString::number(report["training"]["mfu"].get<double>() * 100, 'f', 1) + " %");
  QCOMPARE(dash->communicationTable()->rowCount(), static_cast<int>(report["communication"].size()));
}

bool wait_for_outcome(MainWindow& w, int before) {
  return QTest::qWaitFor([&] { return w.outcomesShown() > before && !w.busy(); }, kRunTimeoutMs);
}

// Writes `doc` to DIR/NAME and returns the path (a report the GUI opens as a user's file).
QString write_json(const QTemporaryDir& dir, const QString& name, const nlohmann::json& doc) {
  const QString path = dir.filePath(name);
  QFile out(path);
  if (!out.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
  out.write(QByteArray::fromStdString(doc.dump()));
  return path;
}

}  // namespace

class GuiTest : public QObject {
  Q_OBJECT
 private slots:
  void opens_every_shipped_scenario_data();
  void opens_every_shipped_scenario();
  void gpu_what_if_reruns_and_changes_charts();
  void precision_what_if_changes_charts();
  void infeasible_what_if_shows_cli_error_and_keeps_pins();
  void bad_file_shows_error_and_keeps_state();
  void opens_a_report_and_reruns_its_scenario();
  void newest_request_wins();
  void render_png_is_not_blank();
  void rl_report_charts_hold_its_numbers();
  void rl_render_png_is_not_blank();
  void serving_report_charts_hold_its_numbers();
  void plan_view_holds_the_report_and_opens_a_layout();
  void serving_steady_view_holds_the_report();
};

void GuiTest::opens_every_shipped_scenario_data() {
  QTest::addColumn<QString>("path");
  const QDir dir(QString::fromStdString(gwsim::data_dir()) + "/scenarios");
  const auto files = dir.entryList({"*.json"}, QDir::Files, QDir::Name);
  QVERIFY(!files.isEmpty());
  for (const QString& f : files) QTest::newRow(qPrintable(f)) << dir.filePath(f);
}

void GuiTest::opens_every_shipped_scenario() {
  QFETCH(QString, path);
  MainWindow w;
  w.openFile(path);
  QVERIFY(wait_for_outcome(w, 0));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QVERIFY(w.whatIf()->isEnabled());
  check_charts_hold(w.dashboard(), cli_report(path));
}

void GuiTest::gpu_what_if_reruns_and_changes_charts() {
  // DeepSeek names its cluster file: the GPU override must still work (and take
  // the H20's own profile). The H20 (compute-capped, 148 dense BF16 TFLOP/s
  // against the H800's 989) must move the compute bar; H100 would not, since
  // its derived profile has the H800's efficiencies and the same peaks.
  const QString path = scenario_path("deepseek-v3-pretrain-2048xh800.json");
  MainWindow w;
  w.openFile(path);
  QVERIFY(wait_for_outcome(w, 0));
  const double compute_before = set_named(w.dashboard()->breakdownSeries(), "compute")->at(0);
  w.whatIf()->gpuBox()->setCurrentText("H20");
  QVERIFY(wait_for_outcome(w, 1));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QCOMPARE(w.current()->report.gpu, std::string("H20"));
  QCOMPARE(w.current()->report.profile, std::string("h20-published"));
  QVERIFY(std::vector<std::string>{"cluster.gpu=H20"} == w.current()->request.overrides);
  const double compute_after = set_named(w.dashboard()->breakdownSeries(), "compute")->at(0);
  QVERIFY(compute_after != compute_before);
  double reported = -1;
  for (const auto& [key, value] : w.current()->report.breakdown_s)
    if (key == "compute") reported = value;
  QCOMPARE(compute_after, reported);
}

void GuiTest::precision_what_if_changes_charts() {
  const QString path = scenario_path("llama3-405b-8192xh100.json");
  MainWindow w;
  w.openFile(path);
  QVERIFY(wait_for_outcome(w, 0));
  const double step_before = w.current()->report.step_time_s;
  w.whatIf()->precisionBox()->setCurrentText("fp8");
  QVERIFY(wait_for_outcome(w, 1));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QVERIFY(w.current()->report.step_time_s < step_before);
  // Same numbers as `gwsim run --set training.precision=fp8` (this scenario has
  // an inline cluster).
  check_charts_hold(w.dashboard(), cli_report(path, {"training.precision=fp8"}));
}

void GuiTest::infeasible_what_if_shows_cli_error_and_keeps_pins() {
  const QString path = scenario_path("llama3-405b-8192xh100.json");
  MainWindow w;
  w.openFile(path);
  QVERIFY(wait_for_outcome(w, 0));
  QVERIFY(w.pinCurrent());
  QCOMPARE(w.pinned()->count(), 1);
  const double step_before = w.current()->report.step_time_s;

  w.whatIf()->tpBox()->setValue(3);  // does not divide the 128 heads
  QVERIFY(wait_for_outcome(w, 1));
  const auto overrides = w.whatIf()->overrides();
  QString expected;
  try {
    gwsim::run_training(gwsim::load_scenario(path.toStdString(), overrides));  // what `gwsim run` does
  } catch (const gwsim::InputError& e) {
    expected = QString("gwsim: ") + e.what();
  }
  QVERIFY2(!expected.isEmpty(), "the CLI accepted the infeasible set-up");
  QCOMPARE(w.errorText(), expected);
  QVERIFY(w.errorText().contains("tp 3"));
  QCOMPARE(w.pinned()->count(), 1);
  QCOMPARE(w.pinned()->table()->rowCount(), 1);
  QVERIFY(w.dashboard()->hasReport());
  QCOMPARE(w.current()->report.step_time_s,
           step_before);  // last good run still shown

  // A feasible change afterwards clears the banner and pins still hold.
  w.whatIf()->tpBox()->setValue(8);
  QVERIFY(wait_for_outcome(w, 2));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QVERIFY(w.pinCurrent());
  QCOMPARE(w.pinned()->count(), 2);
  // Pinned runs are drawn beside the current one in the breakdown chart.
  QCOMPARE(set_named(w.dashboard()->breakdownSeries(), "compute")->count(), 3);
  // For looking at the whole window by eye: GWSIM_GUI_SNAPSHOT=/tmp/window.png
  // ./gui_test
  if (qEnvironmentVariableIsSet("GWSIM_GUI_SNAPSHOT")) {
    w.whatIf()->tpBox()->setValue(3);
    QVERIFY(wait_for_outcome(w, 3));
    w.resize(1600, 1100);
    w.grab().save(qEnvironmentVariable("GWSIM_GUI_SNAPSHOT"));
  }
}

void GuiTest::bad_file_shows_error_and_keeps_state() {
  QTemporaryDir tmp;
  const QString bad = tmp.filePath("bad.json");
  QFile f(bad);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("{ \"schema\": \"gwsim.scenario/1\", ");
  f.close();

  const QString good = scenario_path("megatron-sc21-175b-1024xa100.json");
  MainWindow w;
  w.openFile(good);
  QVERIFY(wait_for_outcome(w, 0));
  QVERIFY(w.pinCurrent());
  w.openFile(bad);
  QVERIFY(wait_for_outcome(w, 1));
  QString expected;
  try {
    gwsim::load_scenario(bad.toStdString());
  } catch (const gwsim::InputError& e) {
    expected = QString("gwsim: ") + e.what();
  }
  QVERIFY(!expected.isEmpty());
  QCOMPARE(w.errorText(), expected);
  QCOMPARE(w.pinned()->count(), 1);
  QCOMPARE(w.source(), QFileInfo(good).absoluteFilePath());
  QVERIFY(w.whatIf()->isEnabled());

  w.openFile(tmp.filePath("missing.json"));
  QVERIFY(wait_for_outcome(w, 2));
  QVERIFY(w.errorText().startsWith("gwsim: "));
  QCOMPARE(w.pinned()->count(), 1);
}

void GuiTest::opens_a_report_and_reruns_its_scenario() {
  const QString path = scenario_path("deepseek-v3-pretrain-2048xh800.json");
  QTemporaryDir tmp;
  const QString report_path = tmp.filePath("report.json");
  const auto report = cli_report(path);
  gwsim::write_report(report, report_path.toStdString());

  MainWindow w;
  w.openFile(report_path);
  QVERIFY(wait_for_outcome(w, 0));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  check_charts_hold(w.dashboard(), report);
  QVERIFY(w.whatIf()->isEnabled());
  QCOMPARE(w.whatIf()->base().gpu, std::string("H800-SXM"));

  w.whatIf()->nicBox()->setValue(100);  // a quarter of the 400 Gb/s NICs: more exposed DP traffic
  QVERIFY(wait_for_outcome(w, 1));
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QVERIFY(w.current()->report.step_time_s > report["training"]["step_time_s"].get<double>());
  w.whatIf()->nicBox()->setValue(400);  // back to the file: the embedded scenario gives the report back
  QVERIFY(wait_for_outcome(w, 2));
  QVERIFY(w.current()->request.overrides.empty());
  QCOMPARE(w.current()->report.step_time_s, report["training"]["step_time_s"].get<double>());
}

void GuiTest::newest_request_wins() {
  const std::string path = scenario_path("megatron-sc21-175b-1024xa100.json").toStdString();
  gwsim::gui::RunWorker worker;
  std::vector<gwsim::gui::RunOutcome> delivered;
  connect(&worker, &gwsim::gui::RunWorker::finished, this,
          [&](const gwsim::gui::RunOutcome& o) { delivered.push_back(o); });
  worker.submit({path, {"training.precision=fp16"}});
  worker.submit({path, {"training.precision=bf16", "cluster.nic_gbps=100"}});
  worker.submit({path, {"cluster.nic_gbps=200"}});
  QVERIFY(worker.busy());
  QVERIFY(QTest::qWaitFor([&] { return !worker.busy(); }, kRunTimeoutMs));
  QTest::qWait(50);
  QCOMPARE(delivered.size(), std::size_t{1});
  QVERIFY(delivered[0].ok);
  QVERIFY(delivered[0].request.overrides == std::vector<std::string>{"cluster.nic_gbps=200"});
  QCOMPARE(delivered[0].knobs.nic_gbps, 200.0);
}

void GuiTest::render_png_is_not_blank() {
  QTemporaryDir tmp;
  const QString png = tmp.filePath("dashboard.png");
  QString error;
  QVERIFY2(gwsim::gui::render_dashboard(scenario_path("deepseek-v3-pretrain-2048xh800.json"), png, &error),
           qPrintable(error));
  QImage image(png);
  QVERIFY(!image.isNull());
  QVERIFY(image.width() >= 1000 && image.height() >= 600);
  // Pixel variance of the grey levels: a blank or single-colour image has
  // (almost) none.
  double sum = 0, sum2 = 0;
  long long n = 0;
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2) {
      const QRgb p = image.pixel(x, y);
      const double g = qGray(p);
      sum += g;
      sum2 += g * g;
      ++n;
      colours.insert(p);
    }
  const double mean = sum / n;
  const double variance = sum2 / n - mean * mean;
  QVERIFY2(variance > 100, qPrintable(QString("variance %1").arg(variance)));
  QVERIFY2(colours.size() > 50, qPrintable(QString("%1 colours").arg(colours.size())));
  // Bad input: the CLI's message, no file.
  const QString none = tmp.filePath("none.png");
  QVERIFY(!gwsim::gui::render_dashboard(tmp.filePath("missing.json"), none, &error));
  QVERIFY(error.startsWith("gwsim: "));
  QVERIFY(!QFile::exists(none));
}

// An RL report (gwsim rl): the stacked breakdown holds the step's phases and sums to the step; the
// utilisation chart holds each pool's share.
void GuiTest::rl_report_charts_hold_its_numbers() {
  const std::string rl = gwsim::data_dir() + "/scenarios/rl/openrlhf-llama2-7b-ppo-16xa800.json";
  const nlohmann::json report = gwsim::run_rl(gwsim::load_rl_scenario(rl));
  gwsim::gui::RlDashboard dashboard;
  dashboard.setReport(report);
  QVERIFY(dashboard.breakdownSeries() != nullptr);
  QCOMPARE(dashboard.breakdownSeries()->barSets().size(), 6);
  double sum = 0;
  for (QBarSet* set : dashboard.breakdownSeries()->barSets()) sum += set->at(0);
  // The report rounds each figure to 6 significant digits: six parts differ from the step by < 1e-5.
  QVERIFY(std::fabs(sum - report["step"]["step_s"].get<double>()) < 1e-5 * sum);
  QBarSet* tail = set_named(dashboard.breakdownSeries(), "tail idle");
  QVERIFY(tail != nullptr);
  QCOMPARE(tail->at(0), report["step"]["breakdown_s"]["tail_idle"].get<double>());
  QBarSet* busy = dashboard.utilisationSeries()->barSets().at(0);
  QCOMPARE(busy->count(), 2);  // the rollout and the training pool
  QCOMPARE(busy->at(0), 100 * report["pools"][0]["utilisation"].get<double>());
  QVERIFY(dashboard.cardText("step").startsWith(QString::number(report["step"]["step_s"].get<double>(), 'f', 1)));
  QVERIFY_THROWS_EXCEPTION(std::runtime_error, dashboard.setReport(nlohmann::json{{"schema", "gwsim.report/1"}}));
}

void GuiTest::rl_render_png_is_not_blank() {
  QTemporaryDir dir;
  const QString png = dir.filePath("rl.png");
  QString error;
  const QString rl = QString::fromStdString(gwsim::data_dir()) + "/scenarios/rl/openrlhf-llama2-7b-ppo-16xa800.json";
  QVERIFY2(gwsim::gui::render_dashboard(rl, png, &error, QSize(1200, 700)), qPrintable(error));
  const QImage image(png);
  QCOMPARE(image.size(), QSize(1200, 700));
  // More than the background: the bars and text drew something.
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 7)
    for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
  QVERIFY(colours.size() > 8);
}

// A serving simulation report (gwsim serve --simulate): the latency lines carry the report's
// percentiles, the time series its samples, and --render draws it.
void GuiTest::serving_report_charts_hold_its_numbers() {
  const std::string file = gwsim::data_dir() + "/scenarios/serving/deepseek-r1-reasoning-requests-256xh200.json";
  const auto scenario = gwsim::load_serving_scenario(file, {"requests.max_requests=2000"});
  const nlohmann::json report = gwsim::requests::simulate_requests(scenario).report;
  gwsim::gui::ServingDashboard dashboard;
  dashboard.setReport(report);
  QLineSeries* ttft = dashboard.latencySeries("ttft");
  QVERIFY(ttft != nullptr);
  QCOMPARE(ttft->count(), 4);
  QCOMPARE(ttft->at(2).x(), report["latency_ms"]["ttft"]["p99"].get<double>());
  QCOMPARE(ttft->at(2).y(), 99.0);
  const auto& t = report["series"]["t_s"];
  QCOMPARE(dashboard.queuedSeries()->count(), static_cast<int>(t.size()));
  QCOMPARE(dashboard.kvSeries()->at(1).y(), 100 * report["series"]["kv_utilization"][1].get<double>());
  QCOMPARE(dashboard.cardText("requests"), QString::number(report["requests"]["completed"].get<double>(), 'g', 6));
  QVERIFY_THROWS_EXCEPTION(std::runtime_error, dashboard.setReport(nlohmann::json{{"schema", "gwsim.report/1"}}));

  QTemporaryDir dir;
  const QString json = write_json(dir, "sim.json", report);
  const QString png = dir.filePath("sim.png");
  QString error;
  QVERIFY2(gwsim::gui::render_dashboard(json, png, &error, QSize(1200, 700)), qPrintable(error));
  QCOMPARE(QImage(png).size(), QSize(1200, 700));
}

// A plan report (gwsim plan --json): the scatter and the table hold its top layouts, choosing one
// opens its scenario in the main window, whose step time is the plan's; --render draws it; a
// serving report opens in its own window.
void GuiTest::plan_view_holds_the_report_and_opens_a_layout() {
  const nlohmann::json request = {{"schema", "gwsim.plan/1"},
                                  {"model", "llama3-8b"},
                                  {"gpu", "H100-SXM"},
                                  {"tokens", 1e12},
                                  {"search",
                                   {{"gpus", {{"min", 64}, {"max", 128}}},
                                    {"pp", {1, 2}},
                                    {"cp", {1}},
                                    {"micro_batch_seqs", {1}},
                                    {"zero_stages", {1}}}},
                                  {"objectives", {"time", "cost"}},
                                  {"top_k", 5}};
  const auto outcome = gwsim::run_plan(gwsim::parse_plan_request(request, "plan.json"));
  const nlohmann::json report = gwsim::plan_report_json(outcome);
  QCOMPARE(report["top"].size(), std::size_t{5});

  gwsim::gui::PlanView view;
  view.setReport(report);
  QCOMPARE(view.bestSeries()->count(), 1);
  QCOMPARE(view.topSeries()->count(), 4);
  QCOMPARE(view.paretoSeries()->count(), static_cast<int>(report["pareto"].size()));
  QCOMPARE(view.bestSeries()->at(0).x(), report["top"][0]["wall_clock_days"].get<double>());
  QCOMPARE(view.bestSeries()->at(0).y(), report["top"][0]["cost_rental_usd"].get<double>() / 1e6);
  QCOMPARE(view.table()->rowCount(), 5);
  QCOMPARE(view.table()->item(1, 2)->text(), QString::fromStdString(report["top"][1]["key"].get<std::string>()));
  QVERIFY(!view.choose(6));  // no such rank
  QVERIFY_THROWS_EXCEPTION(std::runtime_error, view.setReport(nlohmann::json{{"schema", "gwsim.report/1"}}));

  QTemporaryDir dir;
  const QString json = write_json(dir, "plan.json", report);
  MainWindow w;
  w.openFile(json);
  QVERIFY(w.planView() != nullptr);
  QVERIFY(w.planView()->isVisible());
  QVERIFY(w.errorText().isEmpty());
  const int before = w.outcomesShown();
  QVERIFY(w.planView()->choose(2));
  QVERIFY(wait_for_outcome(w, before));
  QVERIFY2(w.current() && w.current()->ok, qPrintable(w.errorText()));
  const double planned = report["top"][1]["step_time_s"].get<double>();
  const double run = w.current()->report.step_time_s;
  QVERIFY2(std::fabs(run / planned - 1) < 1e-5, qPrintable(QString("run %1 vs plan %2").arg(run).arg(planned)));

  QString error;
  const QString png = dir.filePath("plan.png");
  QVERIFY2(gwsim::gui::render_dashboard(json, png, &error, QSize(1200, 800)), qPrintable(error));
  QCOMPARE(QImage(png).size(), QSize(1200, 800));

  const std::string serving = gwsim::data_dir() + "/scenarios/serving/deepseek-r1-reasoning-requests-256xh200.json";
  const auto sim =
      gwsim::requests::simulate_requests(gwsim::load_serving_scenario(serving, {"requests.max_requests=500"}));
  const QString sim_json = write_json(dir, "sim.json", sim.report);
  w.openFile(sim_json);
  QVERIFY(w.servingView() != nullptr);
  QVERIFY(w.servingView()->isVisible());
}

// A steady-state serving report (gwsim serve --out) and a serving scenario: the step breakdowns and
// cards hold the report's numbers; the main window opens both in the steady-state window; --render
// draws them.
void GuiTest::serving_steady_view_holds_the_report() {
  const std::string file = gwsim::data_dir() + "/scenarios/serving/deepseek-v3-serving-h800.json";
  const nlohmann::json report = gwsim::run_serving(gwsim::load_serving_scenario(file));
  gwsim::gui::ServingSteadyView view;
  view.setReport(report);
  QBarSet* decode = view.breakdownSet("decode");
  QVERIFY(decode != nullptr);
  QCOMPARE(decode->count(), static_cast<int>(report["decode"]["breakdown_s"].size()));
  double sum = 0;
  for (int i = 0; i < decode->count(); ++i) sum += decode->at(i);
  double want = 0;
  for (const auto& [k, v] : report["decode"]["breakdown_s"].items()) want += 1e3 * v.get<double>();
  QVERIFY(std::fabs(sum - want) < 1e-9 * want);
  QVERIFY(view.breakdownSet("prefill") != nullptr);
  QCOMPARE(view.cardText("tpot"), QString("%1 ms").arg(report["decode"]["tpot_ms"].get<double>(), 0, 'f', 1));
  QCOMPARE(view.cardText("target_gpus"), QString::number(report["target"]["gpus"].get<double>(), 'f', 0));
  QVERIFY_THROWS_EXCEPTION(std::runtime_error, view.setReport(nlohmann::json{{"schema", "gwsim.report/1"}}));

  QTemporaryDir dir;
  const QString json = write_json(dir, "serve.json", report);
  MainWindow w;
  w.openFile(json);
  QVERIFY(w.servingSteadyView() != nullptr);
  QVERIFY(w.servingSteadyView()->isVisible());
  QVERIFY(w.errorText().isEmpty());
  w.openFile(QString::fromStdString(file));  // the scenario itself, priced on open
  QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
  QCOMPARE(w.servingSteadyView()->cardText("tpot"), view.cardText("tpot"));
  QString error;
  for (const QString& input : {json, QString::fromStdString(file)}) {
    const QString png = dir.filePath("serve.png");
    QVERIFY2(gwsim::gui::render_dashboard(input, png, &error, QSize(1200, 700)), qPrintable(error));
    QCOMPARE(QImage(png).size(), QSize(1200, 700));
  }
}

QTEST_MAIN(GuiTest)
#include "gui_test.moc"
