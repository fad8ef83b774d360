#include "transfer/response_check.hpp"

#include <gtest/gtest.h>

#include "transfer/engine.hpp"

namespace modelcache::transfer {
namespace {

TEST(ContentRange, ParsesTheForms) {
  EXPECT_EQ(parse_content_range("bytes 0-99/1000"), (ContentRange{0, 99, 1000}));
  EXPECT_EQ(parse_content_range(" Bytes 10-10/11 "), (ContentRange{10, 10, 11}));
  EXPECT_EQ(parse_content_range("bytes 5-9/*"), (ContentRange{5, 9, std::nullopt}));
}

TEST(ContentRange, RejectsMalformedValues) {
  for (const char* bad :
       {"", "bytes", "bytes */1000", "bytes 9-5/100", "bytes 0-99/99", "bytes 0-99/",
        "items 0-9/10", "bytes -5/10", "bytes 0-x/10", "bytes 0-9/10x", "bytes 0--9/10"}) {
    EXPECT_FALSE(parse_content_range(bad)) << bad;
  }
}

ResponseHead head(long status, std::optional<std::string> cr = {},
                  std::optional<std::string> len = {}) {
  ResponseHead h;
  h.status = status;
  h.content_range = std::move(cr);
  h.content_length = std::move(len);
  return h;
}

constexpr const char* kUrl = "https://example.com/f.bin?X-Amz-Signature=secret";

TEST(CheckResponse, AcceptsAnExactPartialResponse) {
  auto r = check_response(head(206, "bytes 100-199/1000", "100"), RequestedRange{100, 200}, 1000,
                          "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kAccept);
  EXPECT_EQ(r.body_offset, 100u);
  EXPECT_EQ(r.total, 1000u);
}

TEST(CheckResponse, OpenRangeLearnsTheSize) {
  auto r = check_response(head(206, "bytes 100-4999/5000"), RequestedRange{100, std::nullopt},
                          kUnknownSize, "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kAccept);
  EXPECT_EQ(r.total, 5000u);
}

TEST(CheckResponse, RetriesAPartialResponseThatDoesNotMatch) {
  for (auto cr : {"bytes 101-199/1000", "bytes 100-198/1000", "bytes 100-299/1000", "garbage"}) {
    auto r = check_response(head(206, cr), RequestedRange{100, 200}, 1000, "f.bin", kUrl);
    EXPECT_EQ(r.verdict, Verdict::kRetry) << cr;
    EXPECT_EQ(r.error.code, ErrorCode::kProtocol);
    EXPECT_EQ(r.error.message.find("secret"), std::string::npos);
  }
  auto len = check_response(head(206, "bytes 100-199/1000", "99"), RequestedRange{100, 200}, 1000,
                            "f.bin", kUrl);
  EXPECT_EQ(len.verdict, Verdict::kRetry);
  auto no_cr = check_response(head(206), RequestedRange{100, 200}, 1000, "f.bin", kUrl);
  EXPECT_EQ(no_cr.verdict, Verdict::kRetry);
}

TEST(CheckResponse, AWrongTotalIsAFatalSizeMismatch) {
  auto r =
      check_response(head(206, "bytes 100-199/999"), RequestedRange{100, 200}, 1000, "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kFatal);
  EXPECT_EQ(r.error.code, ErrorCode::kIntegrity);
  EXPECT_NE(r.error.message.find("f.bin: size mismatch"), std::string::npos) << r.error.message;
  auto full = check_response(head(200, {}, "999"), std::nullopt, 1000, "f.bin", kUrl);
  EXPECT_EQ(full.verdict, Verdict::kFatal);
  EXPECT_EQ(full.error.code, ErrorCode::kIntegrity);
}

TEST(CheckResponse, UnsatisfiableRangeOfASmallerFileIsASizeMismatch) {
  auto r = check_response(head(416, "bytes */500"), RequestedRange{600, 700}, 1000, "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kFatal);
  EXPECT_EQ(r.error.code, ErrorCode::kIntegrity);
  EXPECT_NE(r.error.message.find("size mismatch: expected 1000 bytes, origin has 500"),
            std::string::npos)
      << r.error.message;
}

TEST(CheckResponse, FullBodyToARangedRequestMeansRangeIsIgnored) {
  auto r = check_response(head(200, {}, "1000"), RequestedRange{100, 200}, 1000, "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kRangeIgnored);
  // Also for the first piece of a split file.
  auto first = check_response(head(200, {}, "1000"), RequestedRange{0, 500}, 1000, "f.bin", kUrl);
  EXPECT_EQ(first.verdict, Verdict::kRangeIgnored);
  // But a full body is fine when the range was the whole file.
  auto whole =
      check_response(head(200, {}, "1000"), RequestedRange{0, std::nullopt}, 1000, "f.bin", kUrl);
  EXPECT_EQ(whole.verdict, Verdict::kAccept);
  auto plain = check_response(head(200, {}, "1000"), std::nullopt, 1000, "f.bin", kUrl);
  EXPECT_EQ(plain.verdict, Verdict::kAccept);
  EXPECT_EQ(plain.body_offset, 0u);
}

TEST(CheckResponse, PartialResponseToAPlainRequestIsRetried) {
  auto r = check_response(head(206, "bytes 0-99/1000"), std::nullopt, 1000, "f.bin", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
}

TEST(CheckResponse, MapsStatuses) {
  struct Case {
    long status;
    Verdict verdict;
    ErrorCode code;
  };
  for (Case c : {Case{401, Verdict::kFatal, ErrorCode::kUnauthorized},
                 Case{403, Verdict::kFatal, ErrorCode::kForbidden},
                 Case{404, Verdict::kFatal, ErrorCode::kNotFound},
                 Case{416, Verdict::kFatal, ErrorCode::kProtocol},
                 Case{408, Verdict::kRetry, ErrorCode::kProtocol},
                 Case{429, Verdict::kRetry, ErrorCode::kProtocol},
                 Case{500, Verdict::kRetry, ErrorCode::kNetwork},
                 Case{503, Verdict::kRetry, ErrorCode::kNetwork},
                 Case{304, Verdict::kFatal, ErrorCode::kProtocol}}) {
    auto r = check_response(head(c.status), std::nullopt, 1000, "dir/f.bin", kUrl);
    EXPECT_EQ(r.verdict, c.verdict) << c.status;
    EXPECT_EQ(r.error.code, c.code) << c.status;
    EXPECT_NE(r.error.message.find("dir/f.bin"), std::string::npos) << r.error.message;
    EXPECT_NE(r.error.message.find(std::to_string(c.status)), std::string::npos);
    EXPECT_EQ(r.error.message.find("secret"), std::string::npos) << r.error.message;
    EXPECT_EQ(r.error.message.find('\n'), std::string::npos);
  }
}

TEST(CheckResponse, HonoursRetryAfter) {
  ResponseHead h = head(503);
  h.retry_after = "3";
  auto r = check_response(h, std::nullopt, 1000, "f", kUrl);
  EXPECT_EQ(r.verdict, Verdict::kRetry);
  EXPECT_EQ(r.retry_after, std::chrono::milliseconds(3000));
}

TEST(RangeHeader, Formats) {
  EXPECT_EQ(range_header({0, 100}), "Range: bytes=0-99");
  EXPECT_EQ(range_header({5, std::nullopt}), "Range: bytes=5-");
}

}  // namespace
}  // namespace modelcache::transfer
