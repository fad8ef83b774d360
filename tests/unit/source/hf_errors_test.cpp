// Each X-Error-Code / status the Hub answers, mapped to its ErrorCode and advice.
#include "source/hf_errors.hpp"

#include <gtest/gtest.h>

namespace modelcache::source {
namespace {

struct Case {
  long status;
  std::string code;     // X-Error-Code, empty for none
  std::string message;  // X-Error-Message, empty for none
  std::optional<std::string> token;
  std::string entry;
  ErrorCode expected;
  std::string must_contain;
};

Error map(const Case& c) {
  net::HttpResponse response;
  response.status = c.status;
  if (!c.code.empty()) response.headers.emplace_back("x-error-code", c.code);
  if (!c.message.empty()) response.headers.emplace_back("x-error-message", c.message);
  core::ModelRef ref{core::RefKind::kHuggingFace, core::RepoType::kModel, "org/name", "v1"};
  return hub_error(response, {ref, "https://hub.example", c.token, c.entry});
}

TEST(HfErrorsTest, MapsEveryCodeToAnActionableLine) {
  const std::string tok = "hf_SECRET";
  std::vector<Case> cases = {
      {401, "RepoNotFound", "Repository not found", std::nullopt, "", ErrorCode::kNotFound,
       "for a private repo pass --token or set HF_TOKEN"},
      {404, "RepoNotFound", "", tok, "", ErrorCode::kNotFound, "repository org/name not found"},
      {404, "", "", std::nullopt, "", ErrorCode::kNotFound, "check the name"},
      {401, "RepoNotFound", "Invalid credentials in Authorization header", tok, "",
       ErrorCode::kUnauthorized, "invalid or expired"},
      {403, "GatedRepo", "Access to model org/name is restricted", std::nullopt, "",
       ErrorCode::kGated, "is gated: request access on its page"},
      {401, "GatedRepo", "", std::nullopt, "", ErrorCode::kGated, "request access"},
      {404, "RevisionNotFound", "Invalid rev id: v1", std::nullopt, "",
       ErrorCode::kRevisionNotFound, "revision 'v1' not found"},
      {404, "EntryNotFound", "", std::nullopt, "a/b.bin", ErrorCode::kEntryNotFound,
       "file 'a/b.bin' not found"},
      {404, "", "", std::nullopt, "a/b.bin", ErrorCode::kEntryNotFound, "a/b.bin"},
      {401, "", "", std::nullopt, "", ErrorCode::kUnauthorized, "the token is missing"},
      {401, "", "", tok, "", ErrorCode::kUnauthorized, "invalid or expired"},
      {403, "", "", tok, "", ErrorCode::kForbidden, "lacks permission"},
      {403, "DisabledRepo", "", std::nullopt, "", ErrorCode::kForbidden, "disabled"},
      {503, "", "", std::nullopt, "", ErrorCode::kNetwork, "HTTP 503"},
      {400, "", "", std::nullopt, "", ErrorCode::kProtocol, "HTTP 400"},
  };
  for (const auto& c : cases) {
    Error e = map(c);
    EXPECT_EQ(e.code, c.expected) << c.status << " " << c.code << ": " << e.message;
    EXPECT_NE(e.message.find(c.must_contain), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find(tok), std::string::npos) << e.message;
  }
}

TEST(HfErrorsTest, ServerMessageIsOneLineAndScrubbed) {
  Error e = map({400, "", "bad\r\ntoken hf_SECRET echoed", std::string("hf_SECRET"), "",
                 ErrorCode::kProtocol, ""});
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_EQ(e.message.find("hf_SECRET"), std::string::npos);
  EXPECT_NE(e.message.find("<redacted>"), std::string::npos);
  EXPECT_NE(e.message.find("server: bad"), std::string::npos);
}

TEST(HfErrorsTest, UsesTheJsonErrorBodyWithoutHeader) {
  net::HttpResponse response;
  response.status = 404;
  response.headers.emplace_back("x-error-code", "RevisionNotFound");
  response.body = R"({"error": "Invalid rev id: v1"})";
  core::ModelRef ref{core::RefKind::kHuggingFace, core::RepoType::kDataset, "org/ds", "v1"};
  Error e = hub_error(response, {ref, "https://hub.example", std::nullopt, ""});
  EXPECT_EQ(e.code, ErrorCode::kRevisionNotFound);
  EXPECT_NE(e.message.find("dataset org/ds"), std::string::npos);
  EXPECT_NE(e.message.find("Invalid rev id: v1"), std::string::npos);
}

}  // namespace
}  // namespace modelcache::source
