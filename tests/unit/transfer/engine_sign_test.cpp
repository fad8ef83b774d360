// Origins whose signatures date themselves (S3 SigV4, Azure SharedKey) give the
// engine a signer: it must be asked before every request, so that a download
// longer than the signature's lifetime keeps working.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "engine_fixture.hpp"

namespace mctest {
namespace {

using EngineSign = EngineTest;

TEST_F(EngineSign, EveryRequestCarriesAFreshSignature) {
  constexpr std::uint64_t kSize = 24ull << 20;
  make_file("signed.bin", kSize);
  auto r = request("signed.bin");
  r.headers = {"Authorization: stale"};  // must not be used when a signer is set
  auto calls = std::make_shared<std::atomic<int>>(0);
  r.sign = [calls] {
    return std::vector<std::string>{"Authorization: sig-" + std::to_string(++*calls)};
  };
  auto res = fetch_one(r);
  expect_fetched(res, r, "signed.bin");
  auto log = requests_for("signed.bin");
  ASSERT_GE(log.size(), 2u);
  std::set<std::string> seen;
  for (const auto& e : log) {
    ASSERT_TRUE(e["authorization"].is_string()) << e.dump();
    auto auth = e["authorization"].get<std::string>();
    EXPECT_EQ(auth.rfind("sig-", 0), 0u) << auth;
    seen.insert(auth);
  }
  EXPECT_EQ(seen.size(), log.size()) << "each request must be signed anew";
  EXPECT_GE(calls->load(), static_cast<int>(log.size()));
}

}  // namespace
}  // namespace mctest
