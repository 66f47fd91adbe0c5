#pragma once
// splitmix64: a cheap, well-mixed 64-bit hash. Used where a choice must look random but be the same
// on every run: ECMP path choice per seed (network topology), link signatures in the des step.
#include <cstdint>

namespace gwsim {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace gwsim
