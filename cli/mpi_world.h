#pragma once
// MPI for `gwsim plan`: `mpirun -n N gwsim plan ...` splits the search over N processes (on one
// machine or several) and rank 0 prints and writes what one process would. A process joins MPI
// only when an MPI launcher started it, so a plain `gwsim plan` pays no MPI start-up.
#include <memory>
#include <string>
#include <vector>

namespace gwsim::cli {

class MpiWorld {
 public:
  // The world this process was launched into (MPI_Init), or null when no launcher started it.
  static std::unique_ptr<MpiWorld> join_if_launched();
  ~MpiWorld();  // MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Every rank's text, in rank order, on rank 0; empty on the others. Collective: all ranks call it.
  std::vector<std::string> gather(const std::string& mine) const;
  // Ends every rank at once (an error on one rank that the others cannot see).
  [[noreturn]] void abort(int code) const;

 private:
  MpiWorld(int rank, int size) : rank_(rank), size_(size) {}
  int rank_ = 0, size_ = 1;
};

}  // namespace gwsim::cli
