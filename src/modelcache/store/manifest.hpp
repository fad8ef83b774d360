// The manifest of a snapshot: every file the origin lists for it, with its size
// and what the origin said about it; `sha256` is set exactly for the files that
// are linked in the snapshot directory (a pull with --allow links a subset).
// Written atomically after all the blobs it names are committed (invariant 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "modelcache/error.hpp"

namespace modelcache::store {

struct ManifestEntry {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;  // blob name when present in the snapshot, else empty
  std::optional<core::Digest> origin_digest;
  std::string etag;
  std::string last_modified;
};

struct Manifest {
  int format = 1;
  std::string model;        // ModelRef::id()
  std::string snapshot_id;
  std::string origin;       // endpoint or URL the listing came from, without secrets
  std::int64_t updated_at = 0;
  std::vector<ManifestEntry> files;  // sorted by path, unique

  const ManifestEntry* find(std::string_view path) const;
  std::uint64_t total_bytes() const;  // of the present files
  std::size_t present_count() const;
  std::string to_json() const;
  static Result<Manifest> from_json(std::string_view text);
};

}  // namespace modelcache::store
