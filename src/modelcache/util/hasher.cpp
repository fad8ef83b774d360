#include "util/hasher.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace modelcache::util {

struct Hasher::Ctx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

static const EVP_MD* md_for(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha256: return EVP_sha256();
    case HashAlgo::kSha1: return EVP_sha1();
    case HashAlgo::kMd5: return EVP_md5();
  }
  return EVP_sha256();
}

Hasher::Hasher(HashAlgo algo) : algo_(algo), ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->ctx || EVP_DigestInit_ex(ctx_->ctx, md_for(algo_), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(ctx_->ctx, data, size);
}

std::string Hasher::finish_hex() {
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

}  // namespace modelcache::util
