// gwsim's own flow-level discrete-event engine ("des").
//
// Model (the same α-β / max-min model SimGrid's CM02 implements with cross-traffic off):
//  - a transfer task starts its flow groups together; each group first waits its path latency
//    (no bandwidth used), then moves bytes_per_flow x bytes_factor per member flow;
//  - while transferring, groups share every link's capacity max-min fairly. A group is one rate
//    variable; on a link it weighs as many times as it has member flows crossing that link;
//  - rates are recomputed at every start and finish, only for the connected component of groups
//    that share links (directly or transitively) with the ones that changed: max-min allocations
//    of separate components are independent, so the rest keeps its rates and predicted finishes.
// Events at equal times are processed together before rates are recomputed.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <queue>

#include "gwsim/network/des_backend.h"

namespace gwsim::net {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

enum class EventKind { delay_done, latency_done, flow_done };

struct Event {
  double t;
  long long seq;
  EventKind kind;
  int id;
  long long version;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Resource {
  double capacity_bps = 0;
  std::vector<int> active;  // transferring activities using it
  double bytes = 0;         // carried so far, per underlying link
  // Scratch for the solver.
  double rem = 0, weight = 0;
  long long stamp = 0, version = 0;
};

// One flow group of one running transfer task.
struct Activity {
  int task = 0;
  const std::vector<std::pair<int, double>>* usage = nullptr;  // (resource, member flows on it)
  double remaining_bytes = 0;                                  // per member flow
  double rate_bps = 0;                                         // per member flow
  double last_update_s = 0;
  long long version = 0, stamp = 0;
  bool transferring = false, done = false, frozen = false;
};

class Engine {
 public:
  Engine(const Topology& topo, const TaskGraph& g) : topo_(topo), g_(g) {}

  ExecutionResult run() {
    prepare_resources();
    const int n = static_cast<int>(g_.tasks.size());
    result_.start_s.assign(n, -1);
    result_.finish_s.assign(n, -1);
    waiting_on_.assign(n, 0);
    successors_.assign(n, {});
    pending_groups_.assign(n, 0);
    for (int t = 0; t < n; ++t) {
      waiting_on_[t] = static_cast<int>(g_.tasks[t].after.size());
      for (int p : g_.tasks[t].after) successors_[p].push_back(t);
    }
    for (int t = 0; t < n; ++t)
      if (waiting_on_[t] == 0) start_task(t);
    while (!events_.empty()) {
      const double t = events_.top().t;
      now_ = t;
      changed_.clear();
      // Everything that happens at this instant, then one rate update.
      while (!events_.empty() && events_.top().t <= t) {
        Event e = events_.top();
        events_.pop();
        handle(e);
      }
      if (!changed_.empty()) recompute();
    }
    finish_links();
    result_.makespan_s = 0;
    for (double f : result_.finish_s) result_.makespan_s = std::max(result_.makespan_s, f);
    return std::move(result_);
  }

 private:
  const Topology& topo_;
  const TaskGraph& g_;
  ExecutionResult result_;
  double now_ = 0;
  long long seq_ = 0, stamp_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::vector<int> waiting_on_, pending_groups_;
  std::vector<std::vector<int>> successors_;
  std::vector<Resource> res_;
  std::vector<std::vector<int>> virtual_members_;                        // resource -> topology links it stands for
  std::vector<std::vector<std::vector<std::pair<int, double>>>> usage_;  // [batch][group]
  std::deque<Activity> acts_;  // a deque: references stay valid while tasks start more groups
  std::vector<int> changed_;   // resources whose set of active groups changed
  long long active_now_ = 0;

  void push(double t, EventKind k, int id, long long version = 0) { events_.push({t, seq_++, k, id, version}); }

  // Links become resources. Links whose constraint is always identical are one resource: the
  // max-min problem is unchanged, and a symmetric step over thousands of GPUs needs only a few
  // resources. Identical means the same capacity and the same flow groups with the same member
  // counts: within one batch when the batch is exclusive (nothing else runs beside it), and over
  // every batch of the graph otherwise (then no schedule can tell the links apart).
  void prepare_resources() {
    const int links = topo_.link_count();
    res_.resize(links);
    virtual_members_.resize(links);
    for (int l = 0; l < links; ++l) {
      res_[l].capacity_bps = topo_.link(l).capacity_bps;
      virtual_members_[l] = {l};
    }
    usage_.resize(g_.batches.size());
    merge_shared_links();
    for (std::size_t b = 0; b < g_.batches.size(); ++b) {
      const auto& batch = g_.batches[b];
      auto& u = usage_[b];
      u.resize(batch.groups.size());
      if (!batch.exclusive) continue;                              // merge_shared_links filled it
      std::map<int, std::vector<std::pair<int, double>>> by_link;  // link -> (group, flows)
      for (std::size_t gi = 0; gi < batch.groups.size(); ++gi)
        for (const auto& [l, k] : batch.groups[gi].link_flows) by_link[l].push_back({static_cast<int>(gi), k});
      std::map<std::pair<double, std::vector<std::pair<int, double>>>, int> merged;
      for (auto& [l, sig] : by_link) {
        auto key = std::make_pair(topo_.link(l).capacity_bps, sig);
        auto it = merged.find(key);
        if (it == merged.end()) {
          const int id = static_cast<int>(res_.size());
          res_.push_back({});
          res_.back().capacity_bps = topo_.link(l).capacity_bps;
          virtual_members_.push_back({});
          it = merged.emplace(std::move(key), id).first;
          for (const auto& [gi, k] : sig) u[gi].push_back({id, k});
        }
        virtual_members_[it->second].push_back(l);
      }
    }
  }

  // Non-exclusive batches: a link's signature is every (batch, group, member flows) crossing it.
  void merge_shared_links() {
    const int links = topo_.link_count();
    std::vector<std::vector<std::pair<long long, double>>> sig(links);
    long long group_id = 0;
    for (const auto& batch : g_.batches) {
      if (!batch.exclusive)
        for (const auto& grp : batch.groups) {
          for (const auto& [l, k] : grp.link_flows) sig[l].push_back({group_id, k});
          ++group_id;
        }
    }
    std::map<std::pair<double, std::vector<std::pair<long long, double>>>, int> merged;
    std::vector<int> resource_of(links, -1);
    for (int l = 0; l < links; ++l) {
      if (sig[l].empty()) continue;
      auto key = std::make_pair(topo_.link(l).capacity_bps, std::move(sig[l]));
      auto it = merged.find(key);
      if (it == merged.end()) {
        it = merged.emplace(std::move(key), l).first;  // the first such link stands for the rest
      } else {
        virtual_members_[it->second].push_back(l);
        virtual_members_[l].clear();
      }
      resource_of[l] = it->second;
    }
    for (std::size_t b = 0; b < g_.batches.size(); ++b) {
      const auto& batch = g_.batches[b];
      if (batch.exclusive) continue;
      auto& u = usage_[b];
      u.resize(batch.groups.size());
      for (std::size_t gi = 0; gi < batch.groups.size(); ++gi) {
        // The group crosses every link of a merged resource; it is listed once, by the first.
        for (const auto& [l, k] : batch.groups[gi].link_flows)
          if (resource_of[l] == l) u[gi].push_back({l, k});
      }
    }
  }

  void start_task(int t) {
    const auto& task = g_.tasks[t];
    result_.start_s[t] = now_;
    if (task.kind == TaskKind::delay) {
      push(now_ + task.delay_s, EventKind::delay_done, t);
      return;
    }
    const auto& batch = g_.batches[task.batch];
    pending_groups_[t] = static_cast<int>(batch.groups.size());
    if (batch.groups.empty()) {
      finish_task(t);
      return;
    }
    for (std::size_t gi = 0; gi < batch.groups.size(); ++gi) {
      const auto& grp = batch.groups[gi];
      Activity a;
      a.task = t;
      a.usage = &usage_[task.batch][gi];
      a.remaining_bytes = task.bytes_per_flow * grp.bytes_factor;
      acts_.push_back(a);
      const int id = static_cast<int>(acts_.size()) - 1;
      if (grp.latency_s > 0)
        push(now_ + grp.latency_s, EventKind::latency_done, id);
      else
        begin_transfer(id);
    }
  }

  void finish_task(int t) {
    result_.finish_s[t] = now_;
    for (int s : successors_[t])
      if (--waiting_on_[s] == 0) start_task(s);
  }

  void begin_transfer(int id) {
    Activity& a = acts_[id];
    if (a.remaining_bytes <= 0 || a.usage->empty()) {
      complete_activity(id);
      return;
    }
    a.transferring = true;
    a.last_update_s = now_;
    ++active_now_;
    result_.variables = std::max(result_.variables, active_now_);
    for (const auto& [r, k] : *a.usage) {
      res_[r].active.push_back(id);
      changed_.push_back(r);
    }
  }

  void complete_activity(int id) {
    Activity& a = acts_[id];
    if (a.transferring) {
      settle(a);
      --active_now_;
      for (const auto& [r, k] : *a.usage) {
        auto& v = res_[r].active;
        v.erase(std::find(v.begin(), v.end(), id));
        changed_.push_back(r);
      }
    }
    a.transferring = false;
    a.done = true;
    if (--pending_groups_[a.task] == 0) finish_task(a.task);
  }

  void handle(const Event& e) {
    ++result_.events;
    switch (e.kind) {
      case EventKind::delay_done:
        finish_task(e.id);
        break;
      case EventKind::latency_done:
        begin_transfer(e.id);
        break;
      case EventKind::flow_done:
        if (acts_[e.id].version == e.version && !acts_[e.id].done) complete_activity(e.id);
        break;
    }
  }

  // Advances an activity's bytes to now at its current rate, and charges its links.
  void settle(Activity& a) {
    const double moved = std::min(a.remaining_bytes, a.rate_bps * (now_ - a.last_update_s));
    if (moved > 0) {
      a.remaining_bytes -= moved;
      for (const auto& [r, k] : *a.usage) res_[r].bytes += moved * k;
    }
    a.last_update_s = now_;
  }

  // Max-min fair rates (progressive filling) for the component reachable from changed links.
  void recompute() {
    ++stamp_;
    std::vector<int> comp_res, comp_acts;
    std::vector<int> stack;
    for (int r : changed_)
      if (res_[r].stamp != stamp_) {
        res_[r].stamp = stamp_;
        stack.push_back(r);
      }
    while (!stack.empty()) {
      const int r = stack.back();
      stack.pop_back();
      comp_res.push_back(r);
      for (int id : res_[r].active) {
        Activity& a = acts_[id];
        if (a.stamp == stamp_) continue;
        a.stamp = stamp_;
        comp_acts.push_back(id);
        for (const auto& [r2, k] : *a.usage)
          if (res_[r2].stamp != stamp_) {
            res_[r2].stamp = stamp_;
            stack.push_back(r2);
          }
      }
    }
    if (comp_acts.empty()) return;
    for (int id : comp_acts) {
      settle(acts_[id]);
      acts_[id].frozen = false;
    }
    using Entry = std::pair<double, std::pair<int, long long>>;  // (fair share, (resource, version))
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    for (int r : comp_res) {
      Resource& x = res_[r];
      x.rem = x.capacity_bps;
      x.weight = 0;
    }
    for (int id : comp_acts)
      for (const auto& [r, k] : *acts_[id].usage) res_[r].weight += k;
    for (int r : comp_res)
      if (res_[r].weight > 0) heap.push({res_[r].rem / res_[r].weight, {r, ++res_[r].version}});
    while (!heap.empty()) {
      const auto [share, key] = heap.top();
      heap.pop();
      const auto [r, version] = key;
      if (res_[r].version != version || res_[r].weight <= 0) continue;
      const double rate = std::max(0.0, share);
      for (int id : res_[r].active) {
        Activity& a = acts_[id];
        if (a.frozen) continue;
        a.frozen = true;
        a.rate_bps = rate;
        for (const auto& [r2, k] : *a.usage) {
          Resource& y = res_[r2];
          y.rem -= k * rate;
          y.weight -= k;
          if (y.weight > 1e-12)
            heap.push({std::max(0.0, y.rem) / y.weight, {r2, ++y.version}});
          else
            y.weight = 0, ++y.version;
        }
      }
    }
    for (int id : comp_acts) {
      Activity& a = acts_[id];
      ++a.version;
      const double t = a.rate_bps > 0 ? now_ + a.remaining_bytes / a.rate_bps : kInf;
      if (t < kInf) push(t, EventKind::flow_done, id, a.version);
    }
  }

  void finish_links() {
    result_.link_bytes.assign(topo_.link_count(), 0);
    for (std::size_t r = 0; r < res_.size(); ++r)
      for (int l : virtual_members_[r]) result_.link_bytes[l] += res_[r].bytes;
  }
};

class DesBackend : public NetworkBackend {
 public:
  std::string name() const override { return "des"; }
  ExecutionResult execute(const Topology& topo, const TaskGraph& graph) override { return Engine(topo, graph).run(); }
};

}  // namespace

std::unique_ptr<NetworkBackend> make_des_backend() { return std::make_unique<DesBackend>(); }

}  // namespace gwsim::net
