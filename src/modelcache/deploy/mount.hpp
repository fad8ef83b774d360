// Lays a snapshot out at a directory chosen by a deployment config: a tree of
// absolute symlinks to the blob files (default), or real read-only copies.
//
// The tree is built in a temporary sibling directory and swapped in with one
// rename (renameat2 RENAME_EXCHANGE when the directory already exists), so a
// reader sees the old mount or the new one, never a half-built one. The tool
// replaces only directories it created: each mount holds a small marker file,
// `.modelcache-mount` (JSON: model, snapshot, mode); an existing directory without
// it is refused unless it is empty.
#pragma once

#include <filesystem>

#include "deploy/truss_config.hpp"
#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"

namespace modelcache::deploy {

enum class MountMode { kLink, kCopy };

inline constexpr const char* kMountMarker = ".modelcache-mount";

// Makes `target` (absolute) hold exactly `snapshot.files`. Nothing is rebuilt when
// the marker says the same snapshot, selection and mode are already there and every
// file is in place (a warm prefetch).
Status mount_snapshot(const Snapshot& snapshot, const std::filesystem::path& target, MountMode mode);

}  // namespace modelcache::deploy
