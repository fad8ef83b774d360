// Streaming message digests through OpenSSL EVP (SHA-NI accelerated where the CPU has it).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace modelcache::util {

enum class HashAlgo { kSha256, kSha1, kMd5 };

class Hasher {
 public:
  explicit Hasher(HashAlgo algo);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex of the digest; the hasher is reset afterwards.
  std::string finish_hex();

 private:
  struct Ctx;
  HashAlgo algo_;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);
std::string to_hex(const unsigned char* data, std::size_t size);
bool is_hex(std::string_view s, std::size_t length);

}  // namespace modelcache::util
