#include "deploy/mount.hpp"

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"
#include "util/path_check.hpp"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace modelcache::deploy {

namespace {

namespace fs = std::filesystem;

std::string_view mode_name(MountMode mode) { return mode == MountMode::kCopy ? "copy" : "link"; }

// Identifies what a mount holds: the selected paths and their content.
std::string selection_digest(const Snapshot& snapshot) {
  std::vector<const SnapshotFile*> files;
  for (const auto& f : snapshot.files) files.push_back(&f);
  std::sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->path < b->path; });
  util::Hasher h(util::HashAlgo::kSha256);
  for (const auto* f : files) {
    h.update(f->path);
    h.update(std::string_view("\0", 1));
    h.update(f->sha256);
    h.update("\n");
  }
  return h.finish_hex();
}

std::string marker_json(const Snapshot& snapshot, MountMode mode) {
  nlohmann::json j = {{"format", 1},
                      {"model", shown_source(snapshot.model)},
                      {"snapshot", snapshot.snapshot_id},
                      {"mode", mode_name(mode)},
                      {"files", snapshot.files.size()},
                      {"selection", selection_digest(snapshot)}};
  return j.dump() + "\n";
}

enum class TargetState { kMissing, kEmptyDir, kOurs, kForeign };

Result<TargetState> target_state(const fs::path& target) {
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return TargetState::kMissing;
    return std::unexpected(util::errno_error("inspect mount", target, errno));
  }
  if (!S_ISDIR(st.st_mode)) return TargetState::kForeign;
  struct stat marker {};
  if (::lstat((target / kMountMarker).c_str(), &marker) == 0 && S_ISREG(marker.st_mode)) {
    return TargetState::kOurs;
  }
  DIR* dir = ::opendir(target.c_str());
  if (dir == nullptr) return std::unexpected(util::errno_error("open mount", target, errno));
  bool empty = true;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty ? TargetState::kEmptyDir : TargetState::kForeign;
}

// The absolute path of the blob behind a snapshot file.
Result<fs::path> blob_of(const Snapshot& snapshot, const std::string& rel) {
  std::error_code ec;
  fs::path blob = fs::canonical(snapshot.path / rel, ec);
  if (ec) {
    return fail(ErrorCode::kIo, fmt::format("cannot resolve {} in snapshot {}: {} (run modelcache verify)",
                                            rel, snapshot.path.string(), ec.message()));
  }
  return blob;
}

bool up_to_date(const Snapshot& snapshot, const fs::path& target, MountMode mode) {
  auto marker = util::read_file(target / kMountMarker);
  if (!marker || *marker != marker_json(snapshot, mode)) return false;
  for (const auto& f : snapshot.files) {
    const fs::path dest = target / f.path;
    struct stat lst {};
    struct stat st {};
    if (::lstat(dest.c_str(), &lst) != 0 || ::stat(dest.c_str(), &st) != 0) return false;
    if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != f.size) return false;
    if ((mode == MountMode::kLink) != S_ISLNK(lst.st_mode)) return false;
  }
  return true;
}

Status copy_read_only(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  // libstdc++ uses copy_file_range/sendfile: a reflink or an in-kernel copy.
  if (!fs::copy_file(from, to, fs::copy_options::none, ec) || ec) {
    return fail(ErrorCode::kIo, fmt::format("cannot copy {} to {}: {}", from.string(), to.string(),
                                            ec ? ec.message() : "copy failed"));
  }
  if (::chmod(to.c_str(), 0444) != 0) return std::unexpected(util::errno_error("chmod", to, errno));
  return {};
}

Status build_tree(const Snapshot& snapshot, const fs::path& dir, MountMode mode) {
  if (::mkdir(dir.c_str(), 0755) != 0) return std::unexpected(util::errno_error("create directory", dir, errno));
  for (const auto& f : snapshot.files) {
    if (auto ok = util::validate_origin_path(f.path); !ok) return ok;
    if (f.path == kMountMarker) {
      return fail(ErrorCode::kInvalidPath,
                  fmt::format("{} has a file named {}, which modelcache uses to mark its mounts",
                              snapshot.model, kMountMarker));
    }
    auto blob = blob_of(snapshot, f.path);
    if (!blob) return std::unexpected(blob.error());
    const fs::path dest = dir / f.path;
    if (auto ok = util::make_dirs(dest.parent_path()); !ok) return ok;
    if (mode == MountMode::kCopy) {
      if (auto ok = copy_read_only(*blob, dest); !ok) return ok;
    } else if (::symlink(blob->c_str(), dest.c_str()) != 0) {
      return std::unexpected(util::errno_error("create link", dest, errno));
    }
  }
  return util::write_file_atomic(dir / kMountMarker, marker_json(snapshot, mode), 0444);
}

}  // namespace

Status mount_snapshot(const Snapshot& snapshot, const fs::path& target, MountMode mode) {
  if (!target.is_absolute()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("mount path {} is not absolute", target.string()));
  }
  const fs::path parent = target.parent_path();
  if (auto ok = util::make_dirs(parent); !ok) return ok;
  auto state = target_state(target);
  if (!state) return std::unexpected(state.error());
  if (*state == TargetState::kForeign) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} exists and was not created by modelcache (no {} in it): remove it or "
                            "choose another mount path",
                            target.string(), kMountMarker));
  }
  if (*state == TargetState::kOurs && up_to_date(snapshot, target, mode)) return {};

  const fs::path tmp = parent / ("." + target.filename().string() + ".modelcache-" + util::unique_suffix());
  if (auto ok = build_tree(snapshot, tmp, mode); !ok) {
    (void)util::remove_tree(tmp);
    return ok;
  }
  if (*state == TargetState::kMissing) {
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      const int err = errno;
      (void)util::remove_tree(tmp);
      return std::unexpected(util::errno_error("publish mount", target, err));
    }
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    // `tmp` now names the previous tree.
    (void)util::remove_tree(tmp);
  } else if (errno == EINVAL || errno == ENOSYS) {
    // A filesystem without RENAME_EXCHANGE: move the old tree aside first. A reader
    // may briefly find no directory, but never a partial one.
    const fs::path old = parent / ("." + target.filename().string() + ".modelcache-old-" + util::unique_suffix());
    if (auto ok = util::rename_path(target, old); !ok) {
      (void)util::remove_tree(tmp);
      return ok;
    }
    if (auto ok = util::rename_path(tmp, target); !ok) {
      (void)util::rename_path(old, target);
      (void)util::remove_tree(tmp);
      return ok;
    }
    (void)util::remove_tree(old);
  } else {
    const int err = errno;
    (void)util::remove_tree(tmp);
    return std::unexpected(util::errno_error("replace mount", target, err));
  }
  return util::fsync_dir(parent);
}

}  // namespace modelcache::deploy
