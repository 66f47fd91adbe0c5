#include "mpi_world.h"

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>

namespace gwsim::cli {

namespace {

// Set by the launchers in every process they start: OpenMPI's mpirun, and PMIx/PMI (Slurm's
// srun, MPICH's Hydra).
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

}  // namespace

std::unique_ptr<MpiWorld> MpiWorld::join_if_launched() {
  if (!launched_by_mpi()) return nullptr;
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) check(MPI_Init(nullptr, nullptr), "MPI_Init");
  int rank = 0, size = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return std::unique_ptr<MpiWorld>(new MpiWorld(rank, size));
}

MpiWorld::~MpiWorld() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::vector<std::string> MpiWorld::gather(const std::string& mine) const {
  // Lengths first, then the bytes (MPI counts are ints: a partial is a few kB, far below).
  if (mine.size() > static_cast<std::size_t>(INT_MAX)) throw std::runtime_error("MPI: partial result too large");
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank_ == 0 ? size_ : 0);
  check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<int> offsets(lengths.size());
  std::int64_t total = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    offsets[i] = static_cast<int>(total);
    total += lengths[i];
    if (total > INT_MAX) throw std::runtime_error("MPI: gathered results too large");
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  check(MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                    MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < lengths.size(); ++i) out.push_back(all.substr(offsets[i], lengths[i]));
  return out;
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace gwsim::cli
