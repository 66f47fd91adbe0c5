#pragma once
// Loading the hardware catalogue, clusters and profiles from their JSON files (or inline JSON).
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "gwsim/hwmodels/cluster.h"
#include "gwsim/hwmodels/gpu.h"
#include "gwsim/hwmodels/profile.h"

namespace gwsim {

class JsonObject;

// GPUs ------------------------------------------------------------------------------------------
GpuSpec parse_gpu(const JsonObject& obj);
const std::vector<GpuSpec>& gpu_catalogue();  // every file in <data>/hwmodels/data/gpus/
// Looks a GPU up by name or alias, case-insensitively; InputError listing the known names if absent.
const GpuSpec& find_gpu(const std::string& name, const std::string& file = "", const std::string& json_path = "");
// A single gwsim.gpu/1 file (a custom chip for `gwsim export-check --spec`); strict like the catalogue.
GpuSpec load_gpu_file(const std::string& path);
// Every *.json in dir, sorted by name, uncached; duplicate names or aliases are an InputError.
// gpu_catalogue() is this applied to <data>/hwmodels/data/gpus once.
std::vector<GpuSpec> load_gpu_dir(const std::string& dir);
// The key names and aliases are compared by: lower-case, spaces, hyphens and underscores dropped.
std::string gpu_lookup_key(const std::string& name);

// Clusters --------------------------------------------------------------------------------------
// Fields left out default from the GPU (scale-up bandwidth and domain size).
ClusterSpec parse_cluster(const JsonObject& obj);
ClusterSpec load_cluster_file(const std::string& path);

// Profiles --------------------------------------------------------------------------------------
Profile parse_profile(const JsonObject& obj);
Profile load_profile_file(const std::string& path);
nlohmann::json profile_to_json(const Profile& p);
// The published profile of a GPU: hwmodels/profiles/<gpu-name lower-case>.json (every catalogue
// GPU has one).
Profile default_profile_for(const GpuSpec& gpu);
// The profile a GPU runs with when a scenario names none: measured on the chip beats derived from
// a measured sibling beats published (<gpu>-measured.json, <gpu>-derived.json, <gpu>.json).
// The name is the file's stem under hwmodels/profiles/, which find_profile loads.
std::string preferred_profile_name(const GpuSpec& gpu);
Profile preferred_profile_for(const GpuSpec& gpu);
// file/json_path: where the name was read, named by the error for an unknown or unreadable one.
Profile find_profile(const std::string& name_or_path, const std::string& base_dir, const std::string& file = "",
                     const std::string& json_path = "");

}  // namespace gwsim
