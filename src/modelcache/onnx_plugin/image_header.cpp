#include "onnx_plugin/image_header.hpp"

#include <cstring>

namespace modelcache::onnx {

namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t le32(const std::uint8_t* p) {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

HeaderCheck bad(HeaderStatus status, std::string message) {
  HeaderCheck c;
  c.status = status;
  c.message = std::move(message);
  return c;
}

HeaderCheck png(const std::uint8_t* d, std::size_t n) {
  // Signature (8), then the IHDR chunk: length (4), "IHDR", width, height (BE).
  if (n < 24) return bad(HeaderStatus::kTruncated, "truncated PNG header");
  if (std::memcmp(d + 12, "IHDR", 4) != 0) return bad(HeaderStatus::kInvalid, "PNG without an IHDR chunk first");
  // Walk the chunks (length, type, data, CRC) to IEND: a truncated file is told
  // here, in one line, rather than by libpng on stderr.
  std::size_t i = 8;
  while (true) {
    if (n - i < 12) return bad(HeaderStatus::kTruncated, "truncated PNG (no IEND chunk)");
    std::uint64_t len = be32(d + i);
    if (len > n - i - 12) return bad(HeaderStatus::kTruncated, "truncated PNG (a chunk runs past the end)");
    if (std::memcmp(d + i + 4, "IEND", 4) == 0) break;
    i += 12 + static_cast<std::size_t>(len);
  }
  HeaderCheck c;
  c.status = HeaderStatus::kOk;
  c.header = {ImageFormat::kPng, be32(d + 16), be32(d + 20)};
  return c;
}

bool is_sof(std::uint8_t m) {
  // SOF0-15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

HeaderCheck jpeg(const std::uint8_t* d, std::size_t n) {
  std::size_t i = 2;  // after SOI
  while (true) {
    while (i < n && d[i] == 0xFF) ++i;  // fill bytes, then the marker code
    if (i >= n) return bad(HeaderStatus::kTruncated, "truncated JPEG: no frame header");
    if (d[i - 1] != 0xFF) return bad(HeaderStatus::kInvalid, "invalid JPEG marker");
    std::uint8_t m = d[i++];
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0xD9 || m == 0xDA) return bad(HeaderStatus::kInvalid, "JPEG without a frame header before its data");
    if (i + 2 > n) return bad(HeaderStatus::kTruncated, "truncated JPEG header");
    std::size_t len = be16(d + i);
    if (len < 2) return bad(HeaderStatus::kInvalid, "invalid JPEG segment length");
    if (is_sof(m)) {
      // length (2), precision (1), height (2), width (2)
      if (i + 7 > n) return bad(HeaderStatus::kTruncated, "truncated JPEG frame header");
      HeaderCheck c;
      c.status = HeaderStatus::kOk;
      c.header = {ImageFormat::kJpeg, be16(d + i + 5), be16(d + i + 3)};
      return c;
    }
    i += len;
  }
}

HeaderCheck bmp(const std::uint8_t* d, std::size_t n) {
  // File header (14), then the DIB header: size (4), width (4), height (4, negative
  // = top-down). Only BITMAPINFOHEADER (40) and its successors.
  if (n < 26) return bad(HeaderStatus::kTruncated, "truncated BMP header");
  if (le32(d + 14) < 40) return bad(HeaderStatus::kUnsupported, "unsupported BMP header (OS/2)");
  auto w = static_cast<std::int32_t>(le32(d + 18));
  auto h = static_cast<std::int32_t>(le32(d + 22));
  if (w <= 0 || h == 0 || h == INT32_MIN) return bad(HeaderStatus::kInvalid, "invalid BMP dimensions");
  HeaderCheck c;
  c.status = HeaderStatus::kOk;
  c.header = {ImageFormat::kBmp, static_cast<std::uint32_t>(w),
              static_cast<std::uint32_t>(h < 0 ? -static_cast<std::int64_t>(h) : h)};
  return c;
}

}  // namespace

HeaderCheck check_image_header(const std::uint8_t* d, std::size_t n, std::uint64_t max_pixels) {
  static const std::uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  HeaderCheck c;
  if (n >= 8 && std::memcmp(d, kPngSig, 8) == 0) {
    c = png(d, n);
  } else if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
    c = jpeg(d, n);
  } else if (n >= 2 && d[0] == 'B' && d[1] == 'M') {
    c = bmp(d, n);
  } else {
    return bad(HeaderStatus::kUnsupported, "unsupported image format: send PNG, JPEG or BMP");
  }
  if (c.status != HeaderStatus::kOk) return c;
  if (c.header.width == 0 || c.header.height == 0)
    return bad(HeaderStatus::kInvalid, "image header says 0 pixels wide or high");
  std::uint64_t pixels = std::uint64_t{c.header.width} * c.header.height;
  if (pixels > max_pixels) {
    return bad(HeaderStatus::kTooLarge, "image too large: " + std::to_string(c.header.width) + "x" +
                                            std::to_string(c.header.height) + " is over the limit of " +
                                            std::to_string(max_pixels) + " pixels");
  }
  return c;
}

}  // namespace modelcache::onnx
