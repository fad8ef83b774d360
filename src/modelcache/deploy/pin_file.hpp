// The lock file `modelcache lock` writes and `prefetch --lock` reads: JSON,
//   {"format": "modelcache-lock", "version": 1, "config": "config.yaml",
//    "created_at": <unix s>,
//    "entries": [{"entry": "model_cache[0]", "source": "org/name@main",
//                 "ref": "hf://org/name", "pinned": "hf://org/name@<commit>",
//                 "snapshot": "<commit or 40-hex snapshot id>",
//                 "allow": [...], "ignore": [...],
//                 "files": [{"path", "size", "sha256", "etag"?, "origin_digest"?}]}]}
// `source` is the entry as the config wrote it (a lock whose sources differ from
// the config is out of date); `pinned` is the immutable ref prefetch fetches (a Hub
// commit, a bucket prefix @ its snapshot id; for an https URL or a local path, which
// have no pin syntax, the snapshot id is checked after the pull instead). The file
// list (sha256, ETag / generation as the origin gave it) is for human review and is
// checked against what prefetch gets. No secret is ever written: signed URL queries
// are dropped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "deploy/truss_config.hpp"
#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"

namespace modelcache::deploy {

struct PinnedFile {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;
  std::string etag;           // ETag / generation the origin listed, if any
  std::string origin_digest;  // "sha256:…", "gitsha1:…", "md5:…" as the origin promised
};

struct PinnedEntry {
  std::string entry;     // "model_cache[0]": section and index
  std::string source;    // Entry::source_as_written()
  std::string ref;       // Entry::ref, signed query dropped
  std::string pinned;    // immutable ref: hf://org/name@<commit>, s3://b/p@<snapshot>
  std::string snapshot;  // snapshot id
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
  std::vector<PinnedFile> files;
  bool ref_is_pinnable = false;  // `pinned` carries the id (Hub, buckets)
};

struct PinFile {
  int version = 1;
  std::string config;  // the config file name, for humans
  std::int64_t created_at = 0;
  std::vector<PinnedEntry> entries;

  // The pin for a config entry; kNotFound / kInvalidArgument (out of date) name the
  // entry and say to run `modelcache lock` again.
  Result<const PinnedEntry*> find(const Entry& entry) const;
  std::string to_json() const;
  static Result<PinFile> from_json(std::string_view text, const std::filesystem::path& file_for_errors = {});
};

// "model_cache[0]".
std::string entry_key(const Entry& entry);

// The pin of a pulled entry: its snapshot plus, from the snapshot's manifest, the
// ETags and promised digests of the selected files.
Result<PinnedEntry> pin_entry(const Entry& entry, const Snapshot& snapshot);

Status write_pin_file(const std::filesystem::path& path, const PinFile& pins);
Result<PinFile> read_pin_file(const std::filesystem::path& path);

}  // namespace modelcache::deploy
