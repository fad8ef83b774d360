#include "core/digest.hpp"

#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::core {

std::string Digest::to_string() const {
  switch (algo) {
    case DigestAlgo::kSha256: return "sha256:" + hex;
    case DigestAlgo::kGitSha1: return "gitsha1:" + hex;
    case DigestAlgo::kMd5: return "md5:" + hex;
    case DigestAlgo::kCrc32c: return "crc32c:" + hex;
  }
  return hex;
}

std::optional<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string algo(text.substr(0, colon));
  std::string hex = util::to_lower(text.substr(colon + 1));
  if (algo == "sha256" && util::is_hex(hex, 64)) return Digest{DigestAlgo::kSha256, hex};
  if (algo == "gitsha1" && util::is_hex(hex, 40)) return Digest{DigestAlgo::kGitSha1, hex};
  if (algo == "md5" && util::is_hex(hex, 32)) return Digest{DigestAlgo::kMd5, hex};
  if (algo == "crc32c" && util::is_hex(hex, 8)) return Digest{DigestAlgo::kCrc32c, hex};
  return std::nullopt;
}

}  // namespace modelcache::core
