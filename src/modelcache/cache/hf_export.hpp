// `modelcache export REF --hf-cache [DIR]`: writes a cached snapshot into a
// Hugging Face cache folder (cache/hf_cache_layout.hpp) so that huggingface_hub,
// transformers or @huggingface/hub find it there. Blobs are hardlinks of ours
// (else reflinks, else copies), made at a temporary name and renamed; links and
// refs are written the same way. Blobs are all in place before any snapshot link
// is written, so the HF snapshot never names a missing or partial file.
// An existing blob is checked (same inode, else re-hashed against its name): one
// whose content is wrong is an error, never overwritten; an existing link that
// points elsewhere is an error too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "cache/hf_cache_layout.hpp"
#include "modelcache/cache.hpp"
#include "store/store.hpp"

namespace modelcache::cache {

struct HfExportRequest {
  const store::Store* store = nullptr;
  core::ModelRef ref;
  const Snapshot* snapshot = nullptr;  // from Cache::cached (its lease held by the caller)
  fs::path dir;                        // the HF cache folder
  // The HF repo to write; required for non-Hub refs, whose snapshot id must be 40 hex.
  std::optional<std::string> repo_id;
};

struct HfExportReport {
  fs::path repo_dir;
  fs::path snapshot_dir;
  std::string commit;
  std::string revision;  // ref written under refs/, empty when none
  std::size_t files = 0;
  std::size_t blobs_present = 0;  // already in DIR with the right content
  std::size_t hardlinks = 0, reflinks = 0, copies = 0;
  std::uint64_t bytes = 0;             // of the exported files
  std::uint64_t bytes_duplicated = 0;  // written again on disk (copies)
};

Result<HfExportReport> export_to_hf_cache(const HfExportRequest& request);

}  // namespace modelcache::cache
