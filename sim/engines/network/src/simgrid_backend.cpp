// The reference backend: the same task graph on SimGrid S4U (3.32).
//
// Model settings, chosen so that SimGrid computes the plain α-β / max-min model `des` does:
//  - network/model:CM02 with network/crosstraffic:0: no latency or bandwidth factors, no ACK
//    traffic (the default LV08 multiplies latency by 13.01 and bandwidth by 0.97);
//  - links have zero latency and each flow waits its group's latency (path + per-step α) first: CM02 shares a
//    link in inverse proportion to each flow's latency (RTT-unfair TCP); with zero latency every
//    flow has the same weight, which is max-min fairness. (TCP-gamma's window bound is also tied
//    to latency and so never binds.)
//  - the platform is built in code: one host per GPU, one SimGrid link per topology link, and for
//    every GPU pair the task graph uses, the route `Topology::route` gives, so both engines see
//    the same ECMP choices.
//  - activities are created only when their task becomes ready, from completion callbacks: maestro
//    starts them, so SimGrid reports their completion itself (3.32 creates no actor for them).
// A SimGrid engine can be created once per process, so each execution runs in a forked child that
// sends the task times back through a pipe.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <simgrid/s4u.hpp>
#include <stdexcept>

#include "gwsim/common/input_error.h"
#include "gwsim/network/backend.h"

namespace gwsim::net {

namespace {

namespace s4u = simgrid::s4u;

// What a SimGrid activity stands for.
struct Tag {
  enum Kind { delay_task, latency, flow } kind;
  int task;
  int src = 0, dst = 0;
  double bytes = 0;
};

class SimgridRun {
 public:
  SimgridRun(const Topology& topo, const TaskGraph& g) : topo_(topo), g_(g) {}

  // Runs in the child process. Returns start and finish per task.
  std::vector<double> run() {
    int argc = 3;
    char a0[] = "gwsim", a1[] = "--log=root.thres:critical", a2[] = "--log=xbt_cfg.thres:critical";
    char* argv[] = {a0, a1, a2, nullptr};
    s4u::Engine engine(&argc, argv);
    s4u::Engine::set_config("network/model:CM02");
    s4u::Engine::set_config("network/crosstraffic:0");
    build_platform();
    s4u::Activity::on_completion_cb([this](s4u::Activity const& act) { on_done(*act.get_data<Tag>()); });
    const int n = static_cast<int>(g_.tasks.size());
    times_.assign(2 * n, -1);
    waiting_on_.assign(n, 0);
    pending_.assign(n, 0);
    successors_.assign(n, {});
    for (int t = 0; t < n; ++t) {
      waiting_on_[t] = static_cast<int>(g_.tasks[t].after.size());
      for (int p : g_.tasks[t].after) successors_[p].push_back(t);
    }
    for (int t = 0; t < n; ++t)
      if (waiting_on_[t] == 0) start_task(t);
    engine.run();
    return times_;
  }

 private:
  const Topology& topo_;
  const TaskGraph& g_;
  std::vector<s4u::Host*> hosts_;
  s4u::Host* timer_ = nullptr;
  static constexpr double kTimerFlops = 1e9;  // timer host speed: delays are flops / speed
  std::map<int, s4u::Link*> links_;
  std::vector<double> times_;
  std::vector<int> waiting_on_, pending_;
  std::vector<std::vector<int>> successors_;
  std::deque<Tag> tags_;
  std::vector<s4u::ActivityPtr> keep_;  // activities must outlive their completion
  std::set<std::pair<int, int>> routed_;

  void build_platform() {
    auto* zone = s4u::create_full_zone("cluster");
    for (int gpu = 0; gpu < topo_.gpu_count(); ++gpu)
      hosts_.push_back(zone->create_host(fmt::format("gpu{}", gpu), 1e9));
    timer_ = zone->create_host("timer", kTimerFlops);
    timer_->set_core_count(1 << 24);  // delays never wait for one another
    std::vector<int> path;
    for (const auto& task : g_.tasks) {
      if (task.kind != TaskKind::transfer) continue;
      for (const auto& grp : g_.batches[task.batch].groups) {
        if (grp.members.size() != static_cast<std::size_t>(grp.flows))
          throw InputError("the simgrid backend needs explicit flows; this task graph aggregates them (use des)");
        for (const auto& [s, d] : grp.members) {
          if (s == d || !routed_.insert({s, d}).second) continue;
          topo_.route(s, d, path);
          std::vector<s4u::LinkInRoute> route;
          for (int id : path) {
            auto it = links_.find(id);
            if (it == links_.end())
              it = links_
                       .emplace(
                           id,
                           zone->create_link(std::to_string(id), topo_.link(id).capacity_bps)->set_latency(0)->seal())
                       .first;
            route.emplace_back(it->second);
          }
          zone->add_route(hosts_[s]->get_netpoint(), hosts_[d]->get_netpoint(), nullptr, nullptr, route, false);
        }
      }
    }
    zone->seal();
  }

  void start_delay(double seconds, Tag tag) {
    tags_.push_back(tag);
    auto exec = s4u::Exec::init()->set_host(timer_)->set_flops_amount(seconds * kTimerFlops);
    exec->set_data(&tags_.back());
    keep_.push_back(exec->start());
  }

  void start_flow(const Tag& tag) {
    tags_.push_back(tag);
    tags_.back().kind = Tag::flow;
    auto comm = s4u::Comm::sendto_init(hosts_[tag.src], hosts_[tag.dst]);
    comm->set_payload_size(static_cast<std::uint64_t>(std::llround(tag.bytes)));
    comm->set_data(&tags_.back());
    keep_.push_back(comm->start());
  }

  void start_task(int t) {
    const auto& task = g_.tasks[t];
    times_[2 * t] = s4u::Engine::get_clock();
    if (task.kind == TaskKind::delay) {
      if (task.delay_s > 0)
        start_delay(task.delay_s, {Tag::delay_task, t});
      else
        finish_task(t);
      return;
    }
    int flows = 0;
    for (const auto& grp : g_.batches[task.batch].groups) flows += static_cast<int>(grp.members.size());
    pending_[t] = flows;
    if (flows == 0) {
      finish_task(t);
      return;
    }
    for (const auto& grp : g_.batches[task.batch].groups)
      for (const auto& [s, d] : grp.members) {
        const Tag tag{Tag::latency, t, s, d, task.bytes_per_flow * grp.bytes_factor};
        if (s == d || tag.bytes <= 0) {
          flow_done(t);
          continue;
        }
        const double lat = grp.latency_s;  // the path's, plus any per-step α the builder added
        if (lat > 0)
          start_delay(lat, tag);
        else
          start_flow(tag);
      }
  }

  void flow_done(int t) {
    if (--pending_[t] == 0) finish_task(t);
  }

  void finish_task(int t) {
    times_[2 * t + 1] = s4u::Engine::get_clock();
    for (int s : successors_[t])
      if (--waiting_on_[s] == 0) start_task(s);
  }

  void on_done(const Tag& tag) {
    switch (tag.kind) {
      case Tag::delay_task:
        finish_task(tag.task);
        break;
      case Tag::latency:
        start_flow(tag);
        break;
      case Tag::flow:
        flow_done(tag.task);
        break;
    }
  }
};

class SimgridBackend : public NetworkBackend {
 public:
  std::string name() const override { return "simgrid"; }

  ExecutionResult execute(const Topology& topo, const TaskGraph& graph) override {
    // Fail on aggregated graphs here, in the parent, with a readable message.
    for (const auto& task : graph.tasks)
      if (task.kind == TaskKind::transfer)
        for (const auto& grp : graph.batches[task.batch].groups)
          if (grp.members.size() != static_cast<std::size_t>(grp.flows))
            throw InputError("the simgrid backend needs explicit flows; this task graph aggregates them (use des)");
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("simgrid backend: pipe() failed");
    // Flush first, or the child would write the parent's buffered output a second time.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("simgrid backend: fork() failed");
    const std::size_t n = graph.tasks.size();
    if (pid == 0) {
      close(fds[0]);
      int status = 0;
      std::vector<double> times;
      try {
        times = SimgridRun(topo, graph).run();
      } catch (...) {
        status = 1;
      }
      write_all(fds[1], &status, sizeof status);
      if (status == 0) write_all(fds[1], times.data(), times.size() * sizeof(double));
      close(fds[1]);
      _exit(0);
    }
    close(fds[1]);
    int status = 1;
    std::vector<double> times(2 * n, -1);
    const bool ok = read_all(fds[0], &status, sizeof status) && status == 0 &&
                    read_all(fds[0], times.data(), times.size() * sizeof(double));
    close(fds[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (!ok) throw std::runtime_error("simgrid backend: the SimGrid run failed");
    ExecutionResult r;
    r.start_s.resize(n);
    r.finish_s.resize(n);
    for (std::size_t t = 0; t < n; ++t) {
      r.start_s[t] = times[2 * t];
      r.finish_s[t] = times[2 * t + 1];
      r.makespan_s = std::max(r.makespan_s, r.finish_s[t]);
    }
    // Bytes per link follow from the routes: every flow crosses each link of its path once.
    r.link_bytes.assign(topo.link_count(), 0);
    for (const auto& task : graph.tasks)
      if (task.kind == TaskKind::transfer)
        for (const auto& grp : graph.batches[task.batch].groups)
          for (const auto& [l, k] : grp.link_flows) r.link_bytes[l] += k * task.bytes_per_flow * grp.bytes_factor;
    return r;
  }

 private:
  static void write_all(int fd, const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd, c, n);
      if (w <= 0) return;
      c += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  static bool read_all(int fd, void* p, std::size_t n) {
    char* c = static_cast<char*>(p);
    while (n > 0) {
      const ssize_t r = ::read(fd, c, n);
      if (r <= 0) return false;
      c += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<NetworkBackend> make_simgrid_backend() { return std::make_unique<SimgridBackend>(); }

}  // namespace gwsim::net
