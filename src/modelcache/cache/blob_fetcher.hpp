// Gets blobs into the store exactly once across threads and processes.
//
// Lock protocol (doc/ARCHITECTURE.md): for each wanted file, try the exclusive
// lock locks/blobs/<key>.lock without blocking. Holders re-check the store (a
// previous holder may have finished), download into tmp/<key>.part with the
// journal beside it, commit the blob, record key -> sha256, release. Files whose
// lock is busy are waited for after our own downloads; when we get the lock the
// blob is usually there already and nothing is downloaded. A holder that dies
// releases its lock with its last descriptor, so a waiter takes over and resumes
// from the journal.
//
// Each blob is committed (and its lock released) the moment the engine reports
// that file verified and synced, not after the whole batch: a caller waiting
// for one file (Prefetch::wait_file) gets it while the others still download.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "modelcache/cache.hpp"
#include "source/source.hpp"
#include "store/store.hpp"
#include "transfer/engine.hpp"

namespace modelcache::cache {

struct FetchedBlob {
  std::string sha256;
  std::uint64_t size = 0;
  std::uint64_t bytes_downloaded = 0;
  std::string etag;
};

struct BlobHooks {
  std::function<void(const Progress&)> on_progress;  // bytes of this call
  // See PullOptions::on_files: the first call holds every file, later ones what changed.
  std::function<void(std::span<const FileProgress>)> on_files;
  // Stops downloads and lock waits; what is not settled yet gets kCancelled.
  std::stop_token stop;
  std::string first;  // PullOptions::first
};

// Not thread-safe: one fetch() at a time per BlobFetcher (a pull makes its own).
class BlobFetcher {
 public:
  BlobFetcher(store::Store& store, const core::TransferSettings& settings);

  // Name of the lock / part file for a file: its sha256 when the origin gives
  // one, else a hash of what identifies the content (digest, or URL+size+etag).
  static std::string key_for(const source::RemoteFile& file);

  // The blob already in the store for this file, if the store knows it.
  std::optional<std::string> known_blob(const source::RemoteFile& file) const;

  // Results in the order of `files`; the hooks are called on this thread.
  std::vector<Result<FetchedBlob>> fetch(const std::vector<const source::RemoteFile*>& files,
                                         const BlobHooks& hooks);

 private:
  std::optional<std::string> recorded_blob(const std::string& key) const;
  void record_blob(const std::string& key, const std::string& sha256) const;

  store::Store& store_;
  core::TransferSettings settings_;
  // Made on first download only: a warm pull never loads libcurl.
  std::optional<transfer::Engine> engine_;
};

}  // namespace modelcache::cache
