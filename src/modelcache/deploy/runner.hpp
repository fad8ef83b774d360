// Runs every entry of a deployment config at once: one thread per entry, each with
// its own Cache (the store's locks make that safe across threads and processes),
// then lays each entry out at its mount. Every failure is collected; one entry's
// failure never stops or undoes the others.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "deploy/mount.hpp"
#include "deploy/pin_file.hpp"
#include "deploy/truss_config.hpp"
#include "modelcache/cache.hpp"

namespace modelcache::deploy {

enum class MountPolicy { kMount, kCacheOnly };

struct RunOptions {
  CacheOptions cache;
  std::filesystem::path mount_root;  // already resolved (resolve_mount_root)
  MountMode mode = MountMode::kLink;
  MountPolicy policy = MountPolicy::kMount;
  const PinFile* pins = nullptr;     // prefetch --lock: fetch exactly these
  std::optional<NetworkMode> network;
};

struct EntryOutcome {
  const Entry* entry = nullptr;
  std::optional<Snapshot> snapshot;
  std::optional<std::filesystem::path> mount;  // where it was laid out, if anywhere
  std::optional<Error> error;                  // message starts with the entry's label
};

// Two entries may not share a mount, nor may one mount lie inside another.
Status check_mounts(const DeployConfig& config, const std::filesystem::path& mount_root);

// One outcome per config entry, in config order.
std::vector<EntryOutcome> run_entries(const DeployConfig& config, const RunOptions& options);

}  // namespace modelcache::deploy
