// The public entry point: a Cache pulls model references into the local
// content-addressed store and hands back snapshot directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"
#include "modelcache/package.hpp"

namespace modelcache {

enum class NetworkMode { kOnline, kOffline };

struct Progress {
  std::uint64_t bytes_done = 0;   // bytes downloaded so far in this pull
  std::uint64_t bytes_total = 0;  // bytes this pull must download
  int files_done = 0;
  int files_total = 0;
};

enum class FileState {
  kQueued,       // selected, not started
  kDownloading,  // bytes arriving
  kCommitted,    // verified and in the store: `blob` is final
  kFailed,       // `error` says why (kCancelled after a stop)
};

// One selected file of a pull, as PullOptions::on_files reports it.
struct FileProgress {
  std::string path;               // relative to the snapshot directory
  std::uint64_t bytes_done = 0;   // in its part file (resumed bytes included); size once committed
  std::uint64_t bytes_total = 0;  // its size; 0 while the origin has not said
  FileState state = FileState::kQueued;
  // kCommitted: the verified blob (read-only, named by its sha256); the snapshot
  // link made when the pull publishes points at it.
  std::filesystem::path blob;
  // kDownloading: the part file being written, and how many bytes from its start
  // are in it in order (a streaming reader may send those, but must hold back the
  // end until kCommitted: they are verified only as a whole).
  std::filesystem::path part;
  std::uint64_t bytes_ready = 0;
  std::optional<Error> error;  // kFailed
};

struct PullOptions {
  std::string revision;              // overrides the @REVISION of the ref; empty = ref's or default
  std::vector<std::string> allow;    // globs; empty = everything
  std::vector<std::string> ignore;   // globs; ignore wins over allow
  std::optional<std::string> token;  // overrides HF_TOKEN / HUGGING_FACE_HUB_TOKEN
  // The value (not the name) of a secret whose format the origin reads: see
  // source::ListOptions::secret. Never logged, stored or echoed in errors.
  std::optional<std::string> secret;
  std::optional<NetworkMode> network;  // unset = from the environment (MODELCACHE_OFFLINE, HF_HUB_OFFLINE)
  std::function<void(const Progress&)> on_progress;  // called from the pulling thread
  // Per-file events, from the pulling thread. The first call, right after the
  // listing, holds every selected file (kQueued, or kCommitted when its blob is in
  // the store already); later calls hold the files that changed: bytes while they
  // download (at most ~10 calls a second), then kCommitted as soon as that file's
  // blob is committed (before the rest of the pull is done) or kFailed. Never
  // called when the store answers the pull without listing.
  std::function<void(std::span<const FileProgress>)> on_files;
  // Stops the pull: requests in flight are dropped at once, part files and
  // journals stay so that the next pull resumes, nothing more is committed or
  // published, and pull() returns kCancelled. (Prefetch::cancel uses it.)
  std::stop_token stop;
  // A selected file to fetch before the others (the daemon streams it to a
  // waiting client); empty: smallest first.
  std::string first;
  // Model packages (doc/PACKAGES.md): "auto" fetches only the files of the package
  // negotiation picks with `package_request` (the decision is cached); an id fetches
  // that package with no filter applied; empty = no package selection (every file).
  // allow/ignore still apply on top of the package's files.
  std::string package;
  PackageRequest package_request;
};

struct SnapshotFile {
  std::string path;  // relative to the snapshot directory
  std::uint64_t size = 0;
  std::string sha256;
};

struct Snapshot {
  std::filesystem::path path;  // absolute snapshot directory
  std::string model;           // canonical model id, e.g. "hf://org/name"
  std::string snapshot_id;     // commit sha for the Hub, derived id for other origins
  std::string revision;        // what the caller asked for (branch, tag or commit)
  std::vector<SnapshotFile> files;  // the files selected by this pull
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_downloaded = 0;
  double seconds = 0;
  // A shared lease on the snapshot (doc/ARCHITECTURE.md, "Cache management"): while
  // any copy of this Snapshot lives, gc/rm/purge in any process leave it alone.
  std::shared_ptr<void> lease;
  std::string package;  // the package pulled (PullOptions::package), else empty
};

struct CachedSnapshot {
  std::string model;
  std::string snapshot_id;
  std::vector<std::string> revisions;  // refs that point at it
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::size_t files = 0;
  std::int64_t last_used = 0;  // unix seconds; updated at most hourly (store/lease.hpp)
};

enum class VerifyMode { kReport, kRepair };

struct CorruptBlob {
  std::string sha256;
  std::string reason;
  std::vector<std::string> used_by;  // "model@snapshot:path" of the files that link to it
};

struct CacheOptions {
  std::filesystem::path root;  // empty: MODELCACHE_HOME, MODEL_CACHE_DIR, INFERENCE_HOME, XDG, ~/.cache
};

// A Cache may be used from several threads at once: pulls of the same blob or
// model serialise on the store's locks (doc/ARCHITECTURE.md, "Lock protocol").
class Cache {
 public:
  static Result<Cache> open(const CacheOptions& options = {});
  Cache(Cache&&) noexcept;
  Cache& operator=(Cache&&) noexcept;
  ~Cache();

  const std::filesystem::path& root() const;

  // Makes every selected file of `ref` present and verified, then returns its snapshot.
  Result<Snapshot> pull(std::string_view ref, const PullOptions& options = {});

  // Which package of `ref` fits this machine and options.package_request, with every
  // candidate and why it was kept or dropped. Fetches (and caches) only the package
  // manifest; reads and writes no decision (pull with package "auto" does).
  Result<PackageResolution> resolve_package(std::string_view ref, const PullOptions& options = {});

  // The snapshot directory when the selection is fully cached; never touches the network.
  Result<Snapshot> cached(std::string_view ref, const PullOptions& options = {});

  // Every snapshot in the store.
  Result<std::vector<CachedSnapshot>> list() const;

  // Re-hashes the blobs of `ref` (all blobs when empty). kRepair removes the bad
  // ones so that the next pull fetches them again.
  Result<std::vector<CorruptBlob>> verify(std::string_view ref, VerifyMode mode);

 private:
  struct Impl;
  explicit Cache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelcache
