// Snapshot leases: a process that uses a snapshot holds a shared flock on
// locks/leases/<folder>/<id>.lease; gc, rm and purge take it exclusively without
// waiting and leave the snapshot alone when they cannot. The lease file's mtime
// is the snapshot's "last used" time, touched at most once per kTouchInterval so
// that a warm pull stays write-free. See doc/ARCHITECTURE.md, "Cache management".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "modelcache/error.hpp"
#include "store/layout.hpp"
#include "util/fs.hpp"

namespace modelcache::store {

inline constexpr std::chrono::seconds kTouchInterval{3600};

enum class LeaseKind { kShared, kExclusive };

class Lease {
 public:
  // Shared: blocks while gc/rm holds the snapshot (a few unlinks), then records
  // use. Retries when the lease file was replaced while waiting (gc unlinks it
  // with the snapshot), so a held lease always names the current file.
  static Result<Lease> acquire(const Layout& layout, std::string_view folder, std::string_view id);
  // Exclusive, non-blocking: std::nullopt when some process uses the snapshot.
  static Result<std::optional<Lease>> try_exclusive(const Layout& layout, std::string_view folder,
                                                    std::string_view id);

  // Exclusive holder only: unlinks the lease file (the snapshot is gone) while
  // still holding it, so waiters see a replaced file and retry.
  void remove_file();

  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) noexcept = default;

 private:
  Lease(util::UniqueFd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  util::UniqueFd fd_;
  fs::path path_;
};

// Unix seconds of the last lease on the snapshot; the manifest's mtime when it
// was never leased; 0 when neither exists.
std::int64_t last_used(const Layout& layout, std::string_view folder, std::string_view id);
// The same in nanoseconds, so that snapshots used within one second keep their order.
std::int64_t last_used_ns(const Layout& layout, std::string_view folder, std::string_view id);

}  // namespace modelcache::store
