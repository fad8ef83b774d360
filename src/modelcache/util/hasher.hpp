// Streaming message digests through OpenSSL EVP (SHA-NI accelerated where the CPU has it),
// and CRC32C (Castagnoli), which GCS promises for composite objects that have no MD5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace modelcache::util {

enum class HashAlgo { kSha256, kSha1, kMd5, kCrc32c };

class Hasher {
 public:
  explicit Hasher(HashAlgo algo);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex of the digest; the hasher is reset afterwards. CRC32C: 8 hex
  // digits of the big-endian value (the bytes GCS base64-encodes).
  std::string finish_hex();

 private:
  void reset();
  struct Ctx;
  HashAlgo algo_;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);
// A SHA-1 hasher already fed git's "blob <size>\0" header: feed it the content
// and finish_hex() is the git blob id (what the Hub lists as a small file's oid).
Hasher git_blob_hasher(std::uint64_t size);
// Raw 32-byte HMAC-SHA256 (SigV4, Azure SharedKey).
std::string hmac_sha256(std::string_view key, std::string_view data);
// CRC32C (iSCSI polynomial 0x1EDC6F41, reflected; RFC 3720 B.4): continues from
// `crc` (0 to start). SSE4.2 crc32 instructions where the CPU has them.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size);
// The same, table-driven only: what CPUs without SSE4.2 run; tests compare both.
std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size);
std::string to_hex(const unsigned char* data, std::size_t size);
bool is_hex(std::string_view s, std::size_t length);

}  // namespace modelcache::util
