#include "util/hasher.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstring>
#include <stdexcept>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace modelcache::util {

struct Hasher::Ctx {
  EVP_MD_CTX* ctx = nullptr;  // unused for CRC32C
  std::uint32_t crc = 0;
  ~Ctx() { EVP_MD_CTX_free(ctx); }
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

static const EVP_MD* md_for(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha256: return EVP_sha256();
    case HashAlgo::kSha1: return EVP_sha1();
    case HashAlgo::kMd5: return EVP_md5();
    case HashAlgo::kCrc32c: break;
  }
  return EVP_sha256();
}

Hasher::Hasher(HashAlgo algo) : algo_(algo), ctx_(std::make_unique<Ctx>()) {
  if (algo_ == HashAlgo::kCrc32c) return;
  ctx_->ctx = EVP_MD_CTX_new();
  if (!ctx_->ctx || EVP_DigestInit_ex(ctx_->ctx, md_for(algo_), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::update(const void* data, std::size_t size) {
  if (algo_ == HashAlgo::kCrc32c) {
    ctx_->crc = crc32c(ctx_->crc, data, size);
    return;
  }
  EVP_DigestUpdate(ctx_->ctx, data, size);
}

std::string Hasher::finish_hex() {
  if (algo_ == HashAlgo::kCrc32c) {
    std::uint32_t v = ctx_->crc;
    ctx_->crc = 0;
    const unsigned char be[4] = {static_cast<unsigned char>(v >> 24),
                                 static_cast<unsigned char>(v >> 16),
                                 static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
    return to_hex(be, sizeof be);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->ctx, out, &len);
  EVP_DigestInit_ex(ctx_->ctx, md_for(algo_), nullptr);
  return to_hex(out, len);
}

std::string sha256_hex(std::string_view data) {
  Hasher h(HashAlgo::kSha256);
  h.update(data);
  return h.finish_hex();
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
