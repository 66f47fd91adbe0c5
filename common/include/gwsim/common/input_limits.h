#pragma once
// The documented limits of every input (docs/formats.md, "Input limits"). Each bound is far above
// anything a real model, cluster or run needs, and low enough that what is computed from it (an
// int, a product of degrees, the work and memory of a run) cannot wrap or run away. One place, so
// the parsers, the CLI and the docs agree.
#include <cstdint>

namespace gwsim::limits {

// Files. The largest shipped input is a 98 KB measurement file (calibrate/measurements/); 16 MiB
// leaves 160x room and keeps a read (and its parse tree, ~10x the text) well under a GB.
inline constexpr std::int64_t kMaxInputFileBytes = 16LL << 20;
// JSON nesting. Shipped files nest at most 5 deep; nlohmann's dump() and destructor recurse once
// per level, so a 10,000-deep value overflowed the stack (issue 12).
inline constexpr int kMaxJsonDepth = 32;
// Free-form fields ("notes", "outputs", "source", "description"): copied into the report as is.
inline constexpr int kMaxFreeFormDepth = 4;
inline constexpr std::int64_t kMaxFreeFormBytes = 64 << 10;
// A report (what --out writes): the largest shipped scenario's is ~60 KB; a report that grows past
// this came from input that asked for unbounded output (issue 12: a 3.6 GB report). No more than
// an input file, so the GUI can read back every report gwsim writes.
inline constexpr std::int64_t kMaxReportBytes = kMaxInputFileBytes;

// Numbers. Any real quantity here (seconds, bytes, FLOP/s, watts, dollars, tokens) lies within
// [1e-30, 1e30]: the smallest shipped value is 6e-8, the largest 1e14; a whole run's FLOPs is ~1e25.
// Denormals (1e-320) made loops divide by ~0 and hang; 1e308 overflowed results to inf.
inline constexpr double kMinMagnitude = 1e-30;
inline constexpr double kMaxMagnitude = 1e30;

// GPUs: a cluster, a node, a scale-up domain, a parallel degree or their product. 2^24 = 16.8M
// GPUs is 16x the largest campus scenario (gigawatt-*.json, ~1M GPUs) and keeps every product of
// two GPU counts inside an int64 and every GPU count inside an int.
inline constexpr std::int64_t kMaxGpus = 1LL << 24;
// `gwsim collective` builds the whole topology (a vertex per GPU, NIC and switch) and its flows:
// 131,072 GPUs take 0.56 GB and ~8 s (measured here, des backend); 1M took 4.2 GB and 10M ended in
// bad_alloc (issue 12).
inline constexpr std::int64_t kMaxCollectiveGpus = 1LL << 17;

// Model shape. Published models: <= 126 layers (Llama 3 405B), hidden <= 18432 (PaLM 540B),
// vocab <= 256k (Gemma), 256 routed experts (DeepSeek-V3), context <= 10M (Llama 4 Scout).
// Plans cost O(layers) and took 14 s at 30,000 layers (issue 12); 10^4 runs in a few seconds.
inline constexpr std::int64_t kMaxLayers = 10000;
inline constexpr std::int64_t kMaxHidden = 1LL << 20;  // also FFN and expert widths / 16
inline constexpr std::int64_t kMaxFfnWidth = 1LL << 24;
inline constexpr std::int64_t kMaxVocab = 1LL << 24;
inline constexpr std::int64_t kMaxSeqLen = 1LL << 30;
inline constexpr std::int64_t kMaxHeads = 1LL << 16;    // heads, KV heads
inline constexpr std::int64_t kMaxHeadDim = 1LL << 16;  // head dims, MLA ranks
inline constexpr std::int64_t kMaxExperts = 1LL << 16;  // routed, shared, top-k, redundant
// MTP depth: DeepSeek-V3 uses 1, Gloeckle et al. 2024 ("Better & Faster LLMs via Multi-token
// Prediction") up to 8; each module is a whole block, and serving loops over the drafts.
inline constexpr std::int64_t kMaxMtpDepth = 16;

// Run size. 2^24 sequences in a global batch is ~1000x Llama 3's 16M-token batch at 8k context.
inline constexpr std::int64_t kMaxGlobalBatchSeqs = 1LL << 24;
// Micro-batches per replica and step: the des backend schedules each one (pipeline_schedule.cpp);
// 2^16 keeps a step's task graph within a few hundred MB.
inline constexpr std::int64_t kMaxMicroBatches = 1LL << 16;
// Layers are placed on pipeline chunks by an exact partition of chunks x layers^2 / 2 steps
// (~1 ns each): 5e9 is ~5 s; 16 stages over 10^4 layers take 8e8.
inline constexpr double kMaxPartitionSteps = 5e9;
// Monte-Carlo failure-injection trials (each replays the whole run).
inline constexpr std::int64_t kMaxInjectionTrials = 10000;

// Request-level serving simulation (gwsim serve --simulate): requests per run (each holds ~150
// bytes of state: 2^24 is ~2.5 GB), instances per pool, and a request's prompt or output length.
inline constexpr std::int64_t kMaxSimRequests = 1LL << 24;
inline constexpr std::int64_t kMaxPoolInstances = 4096;
inline constexpr std::int64_t kMaxRequestTokens = 1LL << 24;
// Simulated time: 10^7 s is ~4 months of traffic.
inline constexpr double kMaxSimSeconds = 1e7;

}  // namespace gwsim::limits
