// POST /v1/infer bodies: base64 JSON, multipart, the optional fields, and the
// one-line errors for everything malformed.
#include "server/infer_request.hpp"

#include <gtest/gtest.h>

namespace modelcache::server {
namespace {

HttpRequest post(std::string content_type, std::string body, std::string query = "") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/v1/infer/m";
  r.query = std::move(query);
  r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

std::string error_of(const HttpRequest& r) {
  auto parsed = parse_infer_request(r);
  EXPECT_FALSE(parsed);
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
  return parsed.error().message;
}

TEST(InferRequest, JsonWithBase64AndFields) {
  auto in = parse_infer_request(
      post("application/json; charset=utf-8",
           R"({"image": "aGVs\nbG8=", "confidence": 0.3, "iou": "0.5", "top_k": 4})"));
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->image, "hello");
  EXPECT_EQ(in->confidence, 0.3);
  EXPECT_EQ(in->iou, 0.5);
  EXPECT_EQ(in->top_k, 4);
}

TEST(InferRequest, DataUrlAndQueryFieldsTheBodyWins) {
  auto in = parse_infer_request(post("application/json",
                                     R"({"image": "data:image/png;base64,aGk=", "iou": 0.1})",
                                     "confidence=0.9&iou=0.2"));
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->image, "hi");
  EXPECT_EQ(in->confidence, 0.9);
  EXPECT_EQ(in->iou, 0.1);
  EXPECT_FALSE(in->top_k);
}

TEST(InferRequest, Multipart) {
  std::string body =
      "--b0\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\nContent-Type: "
      "image/png\r\n\r\n"
      "\x89PNG\r\n--b\r\n"  // bytes that look like a line but are not the delimiter
      "\r\n--b0\r\ncontent-disposition: form-data; name=\"top_k\"\r\n\r\n3\r\n--b0--\r\n";
  auto in = parse_infer_request(post("multipart/form-data; boundary=\"b0\"", body));
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->image, "\x89PNG\r\n--b\r\n");
  EXPECT_EQ(in->top_k, 3);
}

TEST(InferRequest, ErrorsSayWhatIsWrong) {
  EXPECT_NE(error_of(post("application/json", R"({"image": "a*b="})")).find("not valid base64"),
            std::string::npos);
  EXPECT_NE(error_of(post("application/json", "{")).find("not JSON"), std::string::npos);
  EXPECT_NE(error_of(post("application/json", "[]")).find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(post("application/json", R"({"image": 5})")).find("\"image\""),
            std::string::npos);
  EXPECT_NE(error_of(post("application/json", R"({"image": ""})")).find("empty"),
            std::string::npos);
  EXPECT_NE(error_of(post("application/json", R"({"image": "aGk=", "confidence": -0.1})"))
                .find("\"confidence\""),
            std::string::npos);
  EXPECT_NE(
      error_of(post("application/json", R"({"image": "aGk=", "top_k": 2.5})")).find("\"top_k\""),
      std::string::npos);
  EXPECT_NE(error_of(post("application/json", R"({"image": "aGk="})", "iou=x")).find("\"iou\""),
            std::string::npos);
  EXPECT_NE(error_of(post("text/plain", "x")).find("multipart/form-data"), std::string::npos);
  EXPECT_NE(error_of(post("multipart/form-data", "x")).find("boundary"), std::string::npos);
  EXPECT_NE(error_of(post("multipart/form-data; boundary=b", "--c\r\n")).find("malformed"),
            std::string::npos);
  EXPECT_NE(error_of(post("multipart/form-data; boundary=b", "--b\r\nname=\"image\"\r\n\r\nabc"))
                .find("not closed"),
            std::string::npos);
  EXPECT_NE(error_of(post("multipart/form-data; boundary=b", "--b\r\nX: y\r\n\r\nabc\r\n--b--"))
                .find("no Content-Disposition name"),
            std::string::npos);
  EXPECT_NE(
      error_of(post("multipart/form-data; boundary=b",
                    "--b\r\nContent-Disposition: form-data; name=\"iou\"\r\n\r\n0.5\r\n--b--"))
          .find("no \"image\" part"),
      std::string::npos);
}

}  // namespace
}  // namespace modelcache::server
