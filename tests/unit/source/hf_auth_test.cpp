// Tokens: sent as a Bearer header to the Hub only, handed to the transfer engine
// for the file URLs, dropped by libcurl on the cross-host LFS redirect, and never
// part of an error message.
#include <gtest/gtest.h>

#include "core/model_ref.hpp"
#include "hub_fixture.hpp"
#include "source/hf_source.hpp"

namespace modelcache::source {
namespace {

using mctest::HubFixture;

constexpr const char* kToken = "hf_fixtureSecret123";
constexpr const char* kWrongToken = "hf_wrongSecret456";

void expect_no_secret(const Error& error) {
  EXPECT_EQ(error.message.find(kToken), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find(kWrongToken), std::string::npos) << error.message;
  EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
}

class HfAuthTest : public mctest::HubSuite<HfAuthTest> {
 public:
  static std::vector<std::string> fixture_args() {
    return {"--token", kToken, "--gated", "org/gated", "--lfs-reject-auth"};
  }

 protected:
  static Result<Listing> list(std::string_view text, std::optional<std::string> token) {
    return mctest::hf_list(*hub_, text, std::move(token));
  }
};

TEST_F(HfAuthTest, SendsTheTokenAndPutsItInFileHeaders) {
  auto listing = list("hf://org/model", kToken);
  ASSERT_TRUE(listing) << listing.error().message;
  for (const auto& file : listing->files) {
    EXPECT_EQ(file.headers,
              std::vector<std::string>{std::string("Authorization: Bearer ") + kToken});
  }
  auto log = hub_->log();
  ASSERT_EQ(log.size(), 2u);  // revision + one tree page
  for (const auto& e : log) EXPECT_TRUE(e.had_authorization) << e.path;
}

TEST_F(HfAuthTest, MissingTokenOnPrivateRepoSaysPassAToken) {
  auto listing = list("hf://org/model", std::nullopt);
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(listing.error().message.find("--token"), std::string::npos);
}

TEST_F(HfAuthTest, WrongTokenIsUnauthorizedAndNeverPrinted) {
  auto listing = list("hf://org/model", kWrongToken);
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kUnauthorized);
  EXPECT_NE(listing.error().message.find("invalid or expired"), std::string::npos);
  expect_no_secret(listing.error());
}

TEST_F(HfAuthTest, GatedRepoWithoutAccessIsGated) {
  auto listing = list("hf://org/gated", std::nullopt);
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kGated);
  EXPECT_NE(listing.error().message.find("request access"), std::string::npos);
  expect_no_secret(listing.error());
}

TEST_F(HfAuthTest, GatedRepoWithAGrantedTokenLists) {
  auto listing = list("hf://org/gated", kToken);
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->files.size(), 1u);
}

TEST_F(HfAuthTest, ErrorsNeverContainTheToken) {
  for (const char* ref : {"hf://org/nope", "hf://org/model@nope", "hf://datasets/org/nope"}) {
    for (const char* token : {kToken, kWrongToken}) {
      auto listing = list(ref, token);
      ASSERT_FALSE(listing) << ref;
      expect_no_secret(listing.error());
    }
  }
}

// libcurl sends a custom Authorization header only to the original host:port, so
// the LFS listener (another host:port, which rejects Authorization like a
// pre-signed URL) must see none; the Hub listener must see it.
TEST_F(HfAuthTest, TokenIsDroppedOnTheCrossHostLfsRedirect) {
  auto listing = list("hf://org/model", kToken);
  ASSERT_TRUE(listing) << listing.error().message;
  const RemoteFile* weights = nullptr;
  for (const auto& f : listing->files) {
    if (f.path == "weights.bin") weights = &f;
  }
  ASSERT_NE(weights, nullptr);
  hub_->clear_log();
  net::HttpClient client(hub_->config().transfer);
  auto r = client.send({.url = weights->url, .headers = weights->headers});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(util::sha256_hex(r->body), weights->digest->hex);
  auto log = hub_->log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].listener, "hub");
  EXPECT_TRUE(log[0].had_authorization);
  EXPECT_EQ(log[0].status, 302);
  EXPECT_EQ(log[1].listener, "lfs");
  EXPECT_FALSE(log[1].had_authorization);
  EXPECT_EQ(log[1].host, "localhost:" + hub_->lfs_port());
}

// A Link to another authority is followed without the token: here the second page
// then fails (the fixture wants the token everywhere), and its request shows no
// Authorization, so the token did not leak.
class HfForeignLinkTest : public mctest::HubSuite<HfForeignLinkTest> {
 public:
  static std::vector<std::string> fixture_args() {
    return {"--token", kToken, "--page-size", "2", "--link-style", "foreign"};
  }
};

TEST_F(HfForeignLinkTest, TokenIsNotSentToAnotherOrigin) {
  auto listing = mctest::hf_list(*hub_, "hf://org/model", kToken);
  ASSERT_FALSE(listing);
  expect_no_secret(listing.error());
  auto log = hub_->log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(log[1].had_authorization);  // first tree page, on the endpoint
  EXPECT_EQ(log[2].host, "localhost:" + std::to_string(hub_->port()));
  EXPECT_FALSE(log[2].had_authorization);  // the foreign next page
}

}  // namespace
}  // namespace modelcache::source
