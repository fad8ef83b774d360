// The image size guard reads width and height from the header, before decoding.
#include "onnx_plugin/image_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace modelcache::onnx;

std::vector<std::uint8_t> png_header(std::uint32_t w, std::uint32_t h) {
  std::vector<std::uint8_t> d = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) d.push_back(static_cast<std::uint8_t>(v >> s));
  d.insert(d.end(), {8, 2, 0, 0, 0, 0, 0, 0, 0});  // depth, colour type, ..., CRC (not checked here)
  d.insert(d.end(), {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82});
  return d;
}

std::vector<std::uint8_t> jpeg_header(std::uint16_t w, std::uint16_t h) {
  // SOI, an APP0 segment of 16 bytes, fill bytes, then SOF2 (progressive).
  std::vector<std::uint8_t> d = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16};
  d.insert(d.end(), 14, 'j');
  d.insert(d.end(), {0xFF, 0xFF, 0xC2, 0, 17, 8, static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h),
                     static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w), 3});
  return d;
}

HeaderCheck check(const std::vector<std::uint8_t>& d, std::uint64_t max = 50'000'000) {
  return check_image_header(d.data(), d.size(), max);
}

TEST(ImageHeader, RefusesA20000x20000PngFromItsHeader) {
  auto c = check(png_header(20000, 20000));
  EXPECT_EQ(c.status, HeaderStatus::kTooLarge);
  EXPECT_EQ(c.message, "image too large: 20000x20000 is over the limit of 50000000 pixels");
  auto ok = check(png_header(640, 480));
  ASSERT_EQ(ok.status, HeaderStatus::kOk) << ok.message;
  EXPECT_EQ(ok.header.width, 640u);
  EXPECT_EQ(ok.header.height, 480u);
  EXPECT_EQ(check(png_header(0, 10)).status, HeaderStatus::kInvalid);
  // Exactly at the limit is allowed.
  EXPECT_EQ(check(png_header(100, 100), 10000).status, HeaderStatus::kOk);
  EXPECT_EQ(check(png_header(100, 101), 10000).status, HeaderStatus::kTooLarge);
}

TEST(ImageHeader, FindsTheJpegFrameHeaderPastOtherSegments) {
  auto c = check(jpeg_header(1920, 1080));
  ASSERT_EQ(c.status, HeaderStatus::kOk) << c.message;
  EXPECT_EQ(c.header.format, ImageFormat::kJpeg);
  EXPECT_EQ(c.header.width, 1920u);
  EXPECT_EQ(c.header.height, 1080u);
  EXPECT_EQ(check(jpeg_header(20000, 20000)).status, HeaderStatus::kTooLarge);
  auto cut = jpeg_header(10, 10);
  cut.resize(cut.size() - 4);
  EXPECT_EQ(check(cut).status, HeaderStatus::kTruncated);
  // Scan data before any frame header.
  EXPECT_EQ(check({0xFF, 0xD8, 0xFF, 0xDA, 0, 2}).status, HeaderStatus::kInvalid);
}

TEST(ImageHeader, ReadsBmpAndRefusesOtherFormats) {
  std::vector<std::uint8_t> bmp(54, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  bmp[14] = 40;
  bmp[18] = 0x20;                                  // width 32
  bmp[22] = 0xF0, bmp[23] = bmp[24] = bmp[25] = 0xFF;  // height -16: top-down
  auto c = check(bmp);
  ASSERT_EQ(c.status, HeaderStatus::kOk) << c.message;
  EXPECT_EQ(c.header.width, 32u);
  EXPECT_EQ(c.header.height, 16u);

  auto gif = check({'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0});
  EXPECT_EQ(gif.status, HeaderStatus::kUnsupported);
  EXPECT_EQ(gif.message, "unsupported image format: send PNG, JPEG or BMP");
  EXPECT_EQ(check({}).status, HeaderStatus::kUnsupported);
  auto png = png_header(8, 8);
  png.resize(20);
  EXPECT_EQ(check(png).status, HeaderStatus::kTruncated);
  // Whole header, no IEND: the rest of the file is missing.
  png = png_header(8, 8);
  png.resize(png.size() - 12);
  EXPECT_EQ(check(png).message, "truncated PNG (no IEND chunk)");
}

}  // namespace
