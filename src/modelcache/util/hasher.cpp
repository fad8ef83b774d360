#include "util/hasher.hpp"

// The low-level digest contexts (SHA256_CTX, ...) are deprecated in OpenSSL 3 in
// favour of EVP, but EVP's first digest loads and initialises the default provider:
// 3-7 ms measured here, more than everything else a warm pull does (which hashes only
// a model id, for its folder name). The low-level functions run the same assembly
// (SHA-NI where the CPU has it) with no set-up. HMAC (network paths only) stays EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace modelcache::util {

struct Hasher::Ctx {
  union {
    SHA256_CTX sha256;
    SHA_CTX sha1;
    MD5_CTX md5;
    std::uint32_t crc;
  };
};

namespace {

constexpr std::uint32_t kCrc32cPolyReflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc32cPolyReflected : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrc32cTable = make_crc32c_table();

// On the inverted register (the caller inverts before and after).
std::uint32_t crc32c_bytes(std::uint32_t c, const unsigned char* p, std::size_t n) {
  for (; n > 0; --n, ++p) c = kCrc32cTable[(c ^ *p) & 0xffu] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t c,
                                                             const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t wide = c;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    wide = _mm_crc32_u64(wide, v);
  }
  c = static_cast<std::uint32_t>(wide);
  for (; n > 0; --n, ++p) c = _mm_crc32_u8(c, *p);
  return c;
}
#endif

}  // namespace

Hasher::Hasher(HashAlgo algo) : algo_(algo), ctx_(std::make_unique<Ctx>()) { reset(); }
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::reset() {
  Ctx& c = *ctx_;
  switch (algo_) {
    case HashAlgo::kSha256: SHA256_Init(&c.sha256); return;
    case HashAlgo::kSha1: SHA1_Init(&c.sha1); return;
    case HashAlgo::kMd5: MD5_Init(&c.md5); return;
    case HashAlgo::kCrc32c: c.crc = 0; return;
  }
}

void Hasher::update(const void* data, std::size_t size) {
  switch (algo_) {
    case HashAlgo::kSha256: SHA256_Update(&ctx_->sha256, data, size); return;
    case HashAlgo::kSha1: SHA1_Update(&ctx_->sha1, data, size); return;
    case HashAlgo::kMd5: MD5_Update(&ctx_->md5, data, size); return;
    case HashAlgo::kCrc32c: ctx_->crc = crc32c(ctx_->crc, data, size); return;
  }
}

std::string Hasher::finish_hex() {
  unsigned char out[SHA256_DIGEST_LENGTH];
  std::size_t len = 0;
  switch (algo_) {
    case HashAlgo::kSha256:
      SHA256_Final(out, &ctx_->sha256);
      len = SHA256_DIGEST_LENGTH;
      break;
    case HashAlgo::kSha1:
      SHA1_Final(out, &ctx_->sha1);
      len = SHA_DIGEST_LENGTH;
      break;
    case HashAlgo::kMd5:
      MD5_Final(out, &ctx_->md5);
      len = MD5_DIGEST_LENGTH;
      break;
    case HashAlgo::kCrc32c: {
      // Big-endian, the bytes GCS base64-encodes.
      const std::uint32_t v = ctx_->crc;
      out[0] = static_cast<unsigned char>(v >> 24);
      out[1] = static_cast<unsigned char>(v >> 16);
      out[2] = static_cast<unsigned char>(v >> 8);
      out[3] = static_cast<unsigned char>(v);
      len = 4;
      break;
    }
  }
  reset();
  return to_hex(out, len);
}

std::string sha256_hex(std::string_view data) {
  Hasher h(HashAlgo::kSha256);
  h.update(data);
  return h.finish_hex();
}

Hasher git_blob_hasher(std::uint64_t size) {
  Hasher h(HashAlgo::kSha1);
  const std::string header = "blob " + std::to_string(size);
  h.update(header.data(), header.size() + 1);  // with the NUL
  return h;
}

std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t size) {
  return ~crc32c_bytes(~crc, static_cast<const unsigned char*>(data), size);
}

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) {
#if defined(__x86_64__)
  static const bool kHasSse42 = __builtin_cpu_supports("sse4.2");
  if (kHasSse42) return ~crc32c_sse42(~crc, static_cast<const unsigned char*>(data), size);
#endif
  return crc32c_portable(crc, data, size);
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

bool is_hex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace modelcache::util
