// A digest an origin promises for a file, checked while the file streams in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelcache::core {

enum class DigestAlgo {
  kSha256,   // Hub LFS oid, our blob names
  kGitSha1,  // git blob id: sha1("blob <size>\0" + content), Hub non-LFS files
  kMd5,      // S3 single-part ETag, GCS md5Hash, Azure Content-MD5
  kCrc32c,   // GCS crc32c of composite objects (no md5Hash): 8 hex, big-endian
};

struct Digest {
  DigestAlgo algo = DigestAlgo::kSha256;
  std::string hex;  // lower case

  std::string to_string() const;  // "sha256:<hex>", "gitsha1:<hex>", "md5:<hex>", "crc32c:<hex>"
  static std::optional<Digest> parse(std::string_view text);
  bool operator==(const Digest&) const = default;
};

}  // namespace modelcache::core
