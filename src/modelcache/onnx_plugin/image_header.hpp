// The image size guard: width and height read from the file's header, before any
// decoder runs. OpenCV 4.6's imdecode checks its own limit (CV_IO_MAX_IMAGE_PIXELS,
// 2^30 pixels, read once from the environment) after reading the header, so a
// 20000x20000 PNG (4e8 pixels, 1.2 GB of BGR) would pass it and be allocated.
// Only formats whose header is parsed here are decoded at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace modelcache::onnx {

enum class ImageFormat { kPng, kJpeg, kBmp };

struct ImageHeader {
  ImageFormat format = ImageFormat::kPng;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

enum class HeaderStatus { kOk, kUnsupported, kTruncated, kInvalid, kTooLarge };

struct HeaderCheck {
  HeaderStatus status = HeaderStatus::kInvalid;
  ImageHeader header;
  std::string message;  // one line when status != kOk
};

// PNG (IHDR; and its chunks must reach IEND), JPEG (the first SOFn marker) and BMP (BITMAPINFOHEADER and later).
// kTooLarge when width * height > max_pixels or either side is 0.
HeaderCheck check_image_header(const std::uint8_t* data, std::size_t size, std::uint64_t max_pixels);

}  // namespace modelcache::onnx
