#include "store/usage.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "store/lease.hpp"
#include "util/strings.hpp"

namespace modelcache::store {

std::map<std::string, int> Usage::ref_counts() const {
  std::map<std::string, int> counts;
  for (const auto& s : snapshots) {
    for (const auto& b : s.blobs) ++counts[b];
  }
  return counts;
}

std::uint64_t Usage::blobs_total() const {
  std::uint64_t total = 0;
  for (const auto& [sha, size] : blob_bytes) total += size;
  return total;
}

Result<Usage> scan(const Store& store) {
  const Layout& l = store.layout();
  Usage u;
  for (const auto& prefix : util::list_dir(l.blobs_dir())) {
    for (const auto& name : util::list_dir(l.blobs_dir() / prefix)) {
      struct stat st {};
      if (::lstat((l.blobs_dir() / prefix / name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      u.blob_bytes[name] = static_cast<std::uint64_t>(st.st_size);
    }
  }
  for (const auto& name : util::list_dir(l.tmp_dir())) {
    struct stat st {};
    if (::lstat((l.tmp_dir() / name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      u.tmp_bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;  // part files are sparse
    }
  }
  auto infos = store.list();
  if (!infos) return std::unexpected(infos.error());
  for (auto& info : *infos) {
    auto m = store.read_manifest(info.folder, info.snapshot_id);
    if (!m) return std::unexpected(m.error());
    if (!*m) continue;  // removed since list()
    const std::int64_t used_ns = last_used_ns(l, info.folder, info.snapshot_id);
    SnapshotUsage s{info.model, info.folder, info.snapshot_id,        info.revisions,
                    {},         0,           used_ns / 1'000'000'000, used_ns};
    for (const auto& f : (*m)->files) {
      if (!f.sha256.empty() && s.blobs.insert(f.sha256).second) s.bytes += f.size;
    }
    u.snapshots.push_back(std::move(s));
  }
  std::stable_sort(u.snapshots.begin(), u.snapshots.end(),
                   [](const SnapshotUsage& a, const SnapshotUsage& b) {
                     return a.last_used_ns < b.last_used_ns;
                   });
  return u;
}

}  // namespace modelcache::store
