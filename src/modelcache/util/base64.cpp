#include "util/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "util/hasher.hpp"

namespace modelcache::util {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (ch == '=') {
      // Padding only in the last two places, and nothing after it but padding.
      if (i + 2 < text.size()) return std::nullopt;
      ++pad;
    } else if (pad > 0 || !(alnum || ch == '+' || ch == '/')) {
      return std::nullopt;
    }
  }
  std::string raw(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  raw.resize(static_cast<std::size_t>(n) - pad);
  return raw;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::optional<std::string> base64_to_hex(std::string_view text, std::size_t bytes) {
  auto raw = base64_decode(text);
  if (!raw || raw->size() != bytes) return std::nullopt;
  return to_hex(reinterpret_cast<const unsigned char*>(raw->data()), raw->size());
}

}  // namespace modelcache::util
