#include "gwsim/sim/planning/striped_work.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace gwsim {

void run_striped(const StripedWork& work) {
  std::atomic<std::size_t> next{0};
  const auto ranks = static_cast<std::size_t>(work.ranks), rank = static_cast<std::size_t>(work.rank);
  auto worker = [&](int id) {
    for (;;) {
      const std::size_t item = next.fetch_add(1) * ranks + rank;
      if (item >= work.items) return;
      work.run_item(id, item);
    }
  };
  std::atomic<bool> finished{false};
  std::thread reporter;
  if (work.progress)
    reporter = std::thread([&] {
      for (int tick = 0; !finished.load(); ++tick) {
        if (tick % 10 == 0) work.progress(work.done(), work.total);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  std::vector<std::thread> pool;
  for (int i = 1; i < work.threads; ++i) pool.emplace_back(worker, i);
  worker(0);
  for (auto& t : pool) t.join();
  finished = true;
  if (reporter.joinable()) reporter.join();
  if (work.progress) work.progress(work.done(), work.total);
}

}  // namespace gwsim
