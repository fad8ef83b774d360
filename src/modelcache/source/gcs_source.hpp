// gs://BUCKET[/PREFIX]: the objects under a prefix of a Google Cloud Storage
// bucket, through the GCS JSON API (https://storage.googleapis.com, or
// STORAGE_EMULATOR_HOST). Credentials: gcs_auth.hpp.
//
// - Listing: GET /storage/v1/b/BUCKET/o?prefix=P&maxResults=N&pageToken=T,
//   following nextPageToken. Keys ending in '/' (folder markers) are skipped.
// - Prefix: "a/b" and "a/b/" both mean the folder a/b/ (files are named
//   relative to it). Only when nothing is under a/b/ and an object is named
//   exactly "a/b" is that one object the listing, under its base name. An empty
//   prefix is the whole bucket. Nothing found is an error, never an empty pull.
// - Download: GET /storage/v1/b/BUCKET/o/NAME?alt=media&generation=G. Pinning
//   the listed generation makes the snapshot immutable: an object replaced
//   since the listing is a 404 for the old generation, never mixed bytes.
// - Verification: md5Hash (base64) when present, else crc32c (base64 of the
//   big-endian value: composite objects have no MD5).
// - Snapshot id: derived from the sorted (name, size, generation) of the listing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/digest.hpp"
#include "source/source.hpp"

namespace modelcache::source {

struct GcsObject {
  std::string name;
  std::uint64_t size = 0;
  std::string generation;
  std::optional<core::Digest> digest;  // md5Hash, else crc32c
  std::string etag;
  std::string updated;
};

struct GcsPage {
  std::vector<GcsObject> objects;
  std::string next_page_token;  // empty on the last page
};

// One page of objects.list; `where` names the listing in errors.
Result<GcsPage> parse_gcs_list_page(std::string_view body, std::string_view where);
// One object's metadata (objects.get).
Result<GcsObject> parse_gcs_object(std::string_view body, std::string_view where);

// The URL of an object's bytes at one generation.
std::string gcs_media_url(std::string_view endpoint, std::string_view bucket, std::string_view name,
                          std::string_view generation);

class GcsSource : public Source {
 public:
  explicit GcsSource(const core::Config& config);
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;

 private:
  std::string endpoint_;
  core::TransferSettings transfer_;
  int page_size_;
};

}  // namespace modelcache::source
