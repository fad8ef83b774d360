// Tenants: model globs (scheme-less means hf://), a configured repo name and its
// REF as one model, key lookup by hash, and the TenantGate's 401 / header rewrite
// (the daemon's routes are covered end to end by test_serve_tenants.py).
#include "server/tenants.hpp"

#include <gtest/gtest.h>

#include "server/tenant_gate.hpp"
#include "util/hasher.hpp"

using namespace modelcache::server;
using modelcache::util::sha256_hex;

namespace {

HttpRequest with_key(std::string path, std::optional<std::string> key) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  if (key) r.headers.emplace_back("authorization", "Bearer " + *key);
  return r;
}

std::string one_tenant(const std::string& models) {
  return R"({"tenants": [{"name": "a", "key_sha256": ")" + sha256_hex("key-a") + R"(", "models": )" + models + "}]}";
}

}  // namespace

TEST(Tenants, GlobsWithAndWithoutScheme) {
  RepoNames names;
  auto t = Tenants::parse(one_tenant(R"(["org/*", "hf://datasets/org/d", "s3://bucket/*"])"), "k.json", names);
  ASSERT_TRUE(t) << t.error().message;
  const Tenant& a = t->all().front();
  EXPECT_TRUE(a.may_use("hf://org/model"));
  EXPECT_TRUE(a.may_use("hf://datasets/org/d"));
  EXPECT_TRUE(a.may_use("s3://bucket/prefix"));
  EXPECT_FALSE(a.may_use("hf://other/model"));
  EXPECT_FALSE(a.may_use("hf://datasets/org/e"));
  EXPECT_FALSE(a.may_use("gs://bucket/prefix"));
}

TEST(Tenants, ARepoNameAndItsRefAreOneModel) {
  RepoNames names;
  ASSERT_TRUE(names.add("local/m=s3://bucket/m"));
  ASSERT_TRUE(names.add("local/n=s3://bucket/n"));
  auto t = Tenants::parse(
      R"({"tenants": [{"name": "a", "key_sha256": ")" + sha256_hex("ka") + R"(", "models": ["local/m"]},)"
      R"({"name": "b", "key_sha256": ")" + sha256_hex("kb") + R"(", "models": ["s3://bucket/n"]}]})",
      "k.json", names);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->all()[0].may_use("s3://bucket/m"));
  EXPECT_FALSE(t->all()[0].may_use("s3://bucket/n"));
  EXPECT_TRUE(t->all()[1].may_use("hf://local/n"));
  EXPECT_FALSE(t->all()[1].may_use("hf://local/m"));
}

TEST(Tenants, ErrorsNameTheField) {
  RepoNames names;
  auto bad = [&](const std::string& text) {
    auto t = Tenants::parse(text, "k.json", names);
    EXPECT_FALSE(t);
    return t ? std::string() : t.error().message;
  };
  EXPECT_NE(bad(R"({"tenants": [{"name": "a", "models": []}]})").find("tenants[0].key_sha256"), std::string::npos);
  EXPECT_NE(bad(R"({"tenants": [{"name": "a b", "key_sha256": ")" + sha256_hex("k") + R"(", "models": []}]})")
                .find("tenants[0].name"),
            std::string::npos);
  EXPECT_NE(bad(R"({"tenants": []})").find("tenants is empty"), std::string::npos);
  EXPECT_NE(bad(one_tenant(R"([""])")).find("tenants[0].models"), std::string::npos);
  EXPECT_NE(bad("[1,").find("not valid JSON"), std::string::npos);
}

TEST(Tenants, AuthenticateByHash) {
  RepoNames names;
  auto t = Tenants::parse(one_tenant("[]"), "k.json", names);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->authenticate(with_key("/", "key-a")), &t->all().front());
  EXPECT_EQ(t->authenticate(with_key("/", "key-b")), nullptr);
  EXPECT_EQ(t->authenticate(with_key("/", std::nullopt)), nullptr);
  EXPECT_EQ(hash_api_key("key-a\n"), sha256_hex("key-a"));
}

TEST(TenantGate, HealthzOpenOthersNeedAKeyThatIsNotForwarded) {
  RepoNames names;
  auto t = Tenants::parse(one_tenant(R"(["org/*"])"), "k.json", names);
  ASSERT_TRUE(t);
  TenantGate gate(&*t);
  std::optional<HttpRequest> seen;
  auto next = [&](const HttpRequest& r) {
    seen = r;
    return json_response(200, std::string("{}"));
  };
  EXPECT_EQ(gate.route(with_key("/healthz", std::nullopt), next).status, 200);
  seen.reset();
  EXPECT_EQ(gate.route(with_key("/readyz", std::nullopt), next).status, 401);
  EXPECT_EQ(gate.route(with_key("/readyz", "wrong"), next).status, 401);
  EXPECT_FALSE(seen);
  EXPECT_EQ(gate.route(with_key("/org/m/resolve/main/a", "key-a"), next).status, 200);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->tenant, &t->all().front());
  EXPECT_FALSE(seen->bearer_token());  // no upstream token for this tenant: nothing is sent upstream
  EXPECT_TRUE(may_use(*seen, "hf://org/m"));
  EXPECT_FALSE(may_use(*seen, "hf://other/m"));
  EXPECT_TRUE(may_use(with_key("/", std::nullopt), "hf://other/m"));  // no --api-keys: everything
}
