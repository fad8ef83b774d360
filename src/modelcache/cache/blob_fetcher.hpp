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
#pragma once

#include <functional>
#include <optional>
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

class BlobFetcher {
 public:
  BlobFetcher(store::Store& store, const core::TransferSettings& settings);

  // Name of the lock / part file for a file: its sha256 when the origin gives
  // one, else a hash of what identifies the content (digest, or URL+size+etag).
  static std::string key_for(const source::RemoteFile& file);

  // The blob already in the store for this file, if the store knows it.
  std::optional<std::string> known_blob(const source::RemoteFile& file) const;

  // Results in the order of `files`. `on_progress` gets bytes of this call.
  std::vector<Result<FetchedBlob>> fetch(const std::vector<const source::RemoteFile*>& files,
                                         const std::function<void(const Progress&)>& on_progress);

 private:
  std::optional<std::string> recorded_blob(const std::string& key) const;
  void record_blob(const std::string& key, const std::string& sha256) const;

  store::Store& store_;
  core::TransferSettings settings_;
  // Made on first download only: a warm pull never loads libcurl.
  std::optional<transfer::Engine> engine_;
};

}  // namespace modelcache::cache
