// `modelcache import --hf-cache [DIR] [REPO...]`: adopts the snapshots of a
// Hugging Face cache folder (cache/hf_cache_layout.hpp) into the store, without
// the network. Every snapshot file must be a symlink that stays inside DIR and
// names a blob (sha256 or git sha1) whose content hashes to that name; the blob
// is brought into our store by hardlink only when the HF file is already 0444
// and ours (so our chmod to 0444 changes nothing of the user's file), else by
// reflink, else by copy, then hashed again as our own file and committed.
// A snapshot with any file that fails is not published (its good blobs stay,
// like a failed pull's); refs/<revision> are adopted for published snapshots,
// with the HF ref file's mtime as the time they were resolved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/hf_cache_layout.hpp"
#include "store/store.hpp"

namespace modelcache::cache {

struct HfImportRequest {
  store::Store* store = nullptr;
  fs::path dir;
  std::vector<std::string> repos;  // "org/name", "datasets/org/name"; empty = every repo in DIR
};

struct HfImportReport {
  std::size_t repos = 0;
  std::size_t snapshots = 0;          // published
  std::size_t snapshots_skipped = 0;  // not published: some file failed
  std::size_t files = 0;              // linked in the published snapshots
  std::size_t blobs_present = 0;      // already in the store: not read again
  std::size_t hardlinks = 0, reflinks = 0, copies = 0;
  std::uint64_t bytes_linked = 0;  // adopted without duplicating (hardlink, reflink)
  std::uint64_t bytes_copied = 0;
  std::size_t refs = 0;
  std::vector<std::string> warnings;  // one line each: what was skipped and why
};

// An error only when DIR cannot be read or the store fails; what is wrong with
// single files is in `warnings`.
Result<HfImportReport> import_from_hf_cache(const HfImportRequest& request);

}  // namespace modelcache::cache
