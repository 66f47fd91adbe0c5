// gwsim-gui: the dashboard over gwsim's report format, with what-if re-runs.
// Also renders a dashboard to a PNG headlessly (--render FILE --out PNG), e.g.
// for CI artefacts and docs.
#include <QApplication>
#include <QCommandLineParser>
#include <QTextStream>

#include <cstdlib>
#include <cstring>

#include "main_window.h"
#include "render.h"

int main(int argc, char** argv) {
  // The platform plugin is chosen when QApplication is built, before arguments
  // can be parsed by Qt: look for --render by hand so a render on a machine
  // without a display needs no setup.
  bool render = false;
  for (int i = 1; i < argc; ++i) render |= std::strcmp(argv[i], "--render") == 0;
  if (render && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
    qputenv("QT_QPA_PLATFORM", "offscreen");

  QApplication app(argc, argv);
  QApplication::setApplicationName("gwsim-gui");
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "gwsim dashboard: open a scenario (gwsim.scenario/1) or a report "
      "(gwsim.report/1)");
  parser.addHelpOption();
  parser.addPositionalArgument("file", "Scenario or report JSON to open");
  QCommandLineOption render_option("render", "Render the dashboard of FILE to a PNG and exit", "FILE");
  QCommandLineOption out_option("out", "PNG to write with --render (default dashboard.png)", "PNG", "dashboard.png");
  QCommandLineOption size_option("size", "Size of the rendered PNG, WIDTHxHEIGHT (default 1600x1000)", "WxH",
                                 "1600x1000");
  parser.addOption(render_option);
  parser.addOption(out_option);
  parser.addOption(size_option);
  parser.process(app);

  if (parser.isSet(render_option)) {
    QSize size(1600, 1000);
    const QStringList wh = parser.value(size_option).split('x');
    if (wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0) size = QSize(wh[0].toInt(), wh[1].toInt());
    QString error;
    if (!gwsim::gui::render_dashboard(parser.value(render_option), parser.value(out_option), &error, size)) {
      QTextStream(stderr) << error << "\n";
      return 2;  // the CLI's exit code for bad input
    }
    return 0;
  }

  gwsim::gui::MainWindow window;
  window.show();
  if (!parser.positionalArguments().isEmpty()) window.openFile(parser.positionalArguments().first());
  return app.exec();
}
