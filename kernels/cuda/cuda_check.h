// Error checking for CUDA runtime and cuBLAS calls: every failure throws, carrying the call and
// the place, so a calibration stage can log it and the run can go on to the next stage.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace gwsim::cuda {

[[noreturn]] inline void throw_cuda(const char* what, const char* file, int line, const std::string& msg) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " + msg);
}

}  // namespace gwsim::cuda

#define GWSIM_CUDA_CHECK(call)                                                              \
  do {                                                                                      \
    const cudaError_t gwsim_err_ = (call);                                                  \
    if (gwsim_err_ != cudaSuccess)                                                          \
      ::gwsim::cuda::throw_cuda(#call, __FILE__, __LINE__, cudaGetErrorString(gwsim_err_)); \
  } while (0)

// After a kernel launch: launch-configuration errors show at once, faults at the next sync.
#define GWSIM_LAUNCH_CHECK() GWSIM_CUDA_CHECK(cudaGetLastError())

#define GWSIM_CUBLAS_CHECK(call)                                                              \
  do {                                                                                        \
    const cublasStatus_t gwsim_st_ = (call);                                                  \
    if (gwsim_st_ != CUBLAS_STATUS_SUCCESS)                                                   \
      ::gwsim::cuda::throw_cuda(#call, __FILE__, __LINE__, cublasGetStatusString(gwsim_st_)); \
  } while (0)
