// Redirects (a Hub resolve URL answering 302 to a CDN): after the first good
// ranged response the engine sends later chunks straight to the URL it was
// redirected to, without the credentials meant for the first host, and goes back
// to the request's URL when that URL expires.
#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace mctest {
namespace {

using modelcache::ErrorCode;

// origin_ is the CDN; front_ (a second fault origin, another port, so another
// origin) answers 302 to it through its redirect mode.
class EngineRedirect : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    EngineTest::SetUpTestSuite();
    front_ = std::make_unique<FaultOrigin>(root_->path());
  }
  static void TearDownTestSuite() {
    front_.reset();
    EngineTest::TearDownTestSuite();
  }
  void SetUp() override {
    EngineTest::SetUp();
    front_->reset();
  }

  // A request for `name` at the front, redirected to `target_port` + `cdn_path`.
  FetchRequest via_front(const std::string& name, int target_port,
                         const std::string& cdn_prefix = "", const std::string& query = "") {
    FetchRequest r = request(name);
    r.url = front_->url("redirect/" + std::to_string(target_port) + "/" + cdn_prefix + name) +
            (query.empty() ? "" : "?" + query);
    r.headers = {"Authorization: Bearer sekrit", "Cookie: session=abc", "X-Trace: 1"};
    return r;
  }

  static inline std::unique_ptr<FaultOrigin> front_;
};

TEST_F(EngineRedirect, LaterChunksSkipTheRedirectAndNoCredentialsReachTheOtherHost) {
  constexpr std::uint64_t kSize = 16ull << 20;
  make_file("redir.bin", kSize);
  auto r = via_front("redir.bin", origin_->port());
  auto res = fetch_one(r);
  expect_fetched(res, r, "redir.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize);

  auto front = front_->log();
  auto cdn = requests_for("redir.bin");
  // Only the requests that went out before the first 206 came back were redirected.
  EXPECT_GE(front.size(), 1u);
  EXPECT_LE(front.size(), 4u);
  EXPECT_GT(cdn.size(), front.size()) << "later chunks must go straight to the CDN";
  for (const auto& e : front) {
    EXPECT_EQ(e["authorization"], "Bearer sekrit") << e.dump();
    EXPECT_EQ(e["status"], 302);
  }
  std::uint64_t sent = 0;
  for (const auto& e : cdn) {
    EXPECT_TRUE(e["authorization"].is_null()) << "credentials leaked to the CDN: " << e.dump();
    EXPECT_TRUE(e["cookie"].is_null()) << "cookie leaked to the CDN: " << e.dump();
    EXPECT_NE(e["query"].get<std::string>().find("sig="), std::string::npos) << e.dump();
    sent += e["bytes_sent"].get<std::uint64_t>();
  }
  EXPECT_EQ(sent, kSize);
}

TEST_F(EngineRedirect, SameOriginRedirectKeepsTheCredentials) {
  constexpr std::uint64_t kSize = 8ull << 20;
  make_file("same.bin", kSize);
  // The front redirects to itself: the same scheme, host and port.
  auto r = via_front("same.bin", front_->port());
  auto res = fetch_one(r);
  expect_fetched(res, r, "same.bin");
  int direct = 0;
  for (const auto& e : front_->log()) {
    EXPECT_EQ(e["authorization"], "Bearer sekrit") << e.dump();
    direct += e["status"] == 206 && e["path"] == "/same.bin";
  }
  EXPECT_GT(direct, 0);
}

TEST_F(EngineRedirect, AnExpiredRedirectTargetSendsTheEngineBackToTheOriginalUrl) {
  constexpr std::uint64_t kSize = 16ull << 20;
  make_file("expiring.bin", kSize);
  // Each redirect hands out a fresh "signed" URL that serves two requests, then 403.
  auto r = via_front("expiring.bin", origin_->port(), "expiring/", "valid=2");
  auto res = fetch_one(r);
  expect_fetched(res, r, "expiring.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize);
  int expired = 0;
  for (const auto& e : requests_for("expiring.bin")) {
    expired += e["status"] == 403;
    EXPECT_TRUE(e["authorization"].is_null()) << e.dump();
  }
  EXPECT_GE(expired, 1);
  EXPECT_GT(front_->log().size(), 4u) << "an expired URL must send the engine back to the front";
}

TEST_F(EngineRedirect, ARefusingRedirectTargetIsFinal) {
  make_file("refused.bin", 4 << 20);
  auto r = via_front("refused.bin", origin_->port(), "status/403/");
  auto res = fetch_one(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kForbidden) << res.error().message;
  // A 403 reached through the redirect is final: no going back, no loop (at most
  // one request per segment, the others cancelled by the first answer).
  EXPECT_GE(requests_for("refused.bin").size(), 1u);
  EXPECT_LE(requests_for("refused.bin").size(), front_->log().size());
  EXPECT_LE(front_->log().size(), 4u);
}

}  // namespace
}  // namespace mctest
