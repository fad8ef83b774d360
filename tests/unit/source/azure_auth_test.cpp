// Azure credentials and signing. The signature vectors were produced by
// Microsoft's own client, @azure/storage-blob 12.34.0 (tests/peers), with the
// well-known Azurite key: its SharedKey policy signed a List Blobs request and a
// ranged blob GET sent to a local capture server (URL and headers recorded as
// sent), and generateBlobSASQueryParameters() made the blob SAS.
#include "source/azure_auth.hpp"

#include <gtest/gtest.h>

#include "util/base64.hpp"

#include <chrono>

namespace modelcache::source::azure {
namespace {

constexpr const char* kKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::string raw_key() { return *util::base64_decode(kKey); }

std::chrono::system_clock::time_point utc(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  return sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}} +
         hours{h} + minutes{mi} + seconds{s};
}

TEST(AzureSharedKey, MatchesMicrosoftClientOnAListBlobsRequest) {
  const std::string url =
      "http://127.0.0.1:44663/devstoreaccount1/models?comp=list&prefix=llama%203%2F"
      "&marker=2!88!MDAw&maxresults=2&restype=container";
  const std::vector<std::string> headers = {
      "x-ms-version: 2026-10-06",
      "accept: application/xml",
      "user-agent: azsdk-js-azure-storage-blob/12.34.0 core-rest-pipeline/1.24.0",
      "x-ms-client-request-id: 97e0f028-64e5-4346-ab10-521f02ea19a6",
      "x-ms-date: Wed, 25 Nov 2026 04:45:09 GMT",
  };
  EXPECT_EQ(shared_key_string_to_sign("devstoreaccount1", "GET", url, headers),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-client-request-id:97e0f028-64e5-4346-ab10-521f02ea19a6\n"
            "x-ms-date:Wed, 25 Nov 2026 04:45:09 GMT\n"
            "x-ms-version:2026-10-06\n"
            // Path-style (emulator) URLs carry the account twice, as documented.
            "/devstoreaccount1/devstoreaccount1/models\n"
            "comp:list\nmarker:2!88!MDAw\nmaxresults:2\nprefix:llama 3/\nrestype:container");
  EXPECT_EQ(
      shared_key_authorization("devstoreaccount1", raw_key(), "GET", url, headers),
      "Authorization: SharedKey devstoreaccount1:jvqPl1vwlNRzck8Qy5/OfFqW5tf5ZUJgWLKpLgl7aiE=");
}

TEST(AzureSharedKey, MatchesMicrosoftClientOnARangedBlobGet) {
  const std::string url = "http://127.0.0.1:35701/weights/dir/sub%20file.bin";
  const std::vector<std::string> headers = {
      "x-ms-version: 2026-10-06",
      "accept: application/xml",
      "x-ms-range: bytes=5-14",
      "x-ms-client-request-id: 5efe9765-ffbe-4da5-9453-bfb0f2f11a24",
      "x-ms-date: Wed, 25 Nov 2026 04:54:13 GMT",
  };
  EXPECT_EQ(shared_key_authorization("myaccount", raw_key(), "GET", url, headers),
            "Authorization: SharedKey myaccount:g/+sDjbtjCYCYlt87Hv5w9yu9y7f2DzeId4TLYDUTLw=");
}

TEST(AzureSharedKey, StandardHeadersInTheirPlacesAndQueryCanonicalized) {
  const std::string s = shared_key_string_to_sign(
      "acct", "get", "https://acct.blob.core.windows.net/c/b?Comp=x&b=2&b=1&empty",
      {"Content-Length: 0", "Content-Type: text/plain", "Range: bytes=0-9", "If-Match: \"e\"",
       "X-MS-Meta-B:  two ", "x-ms-meta-a: one", "Accept: */*"});
  EXPECT_EQ(s,
            "GET\n"
            "\n\n"          // Content-Encoding, Content-Language
            "\n"            // Content-Length 0 is signed as empty
            "\n"            // Content-MD5
            "text/plain\n"  // Content-Type
            "\n\n"          // Date, If-Modified-Since
            "\"e\"\n"       // If-Match
            "\n\n"          // If-None-Match, If-Unmodified-Since
            "bytes=0-9\n"   // Range: signed, so a Range added after signing breaks it
            "x-ms-meta-a:one\nx-ms-meta-b:two\n"
            "/acct/c/b\nb:1,2\ncomp:x\nempty:");
  // No path at all: the resource is "/ACCOUNT/".
  EXPECT_EQ(shared_key_string_to_sign("acct", "GET", "https://h", {}).substr(15), "/acct/");
}

TEST(AzureSas, BlobReadSasMatchesMicrosoftClient) {
  EXPECT_EQ(blob_read_sas("devstoreaccount1", raw_key(), "models", "dir/sub file+x.bin",
                          utc(2026, 11, 26, 4, 0, 0)),
            "sv=2021-08-06&se=2026-11-26T04%3A00%3A00Z&sr=b&sp=r"
            "&sig=15NIxbmixbVBtqeQxVDuyGib%2F7xWsIjbkLyuhT8DmOw%3D");
}

TEST(AzureDates, HttpAndIsoFormats) {
  auto t = utc(2026, 11, 25, 4, 5, 9);
  EXPECT_EQ(rfc1123_date(t), "Wed, 25 Nov 2026 04:05:09 GMT");
  EXPECT_EQ(iso8601_utc(t), "2026-11-25T04:05:09Z");
}

TEST(AzureConnectionString, AzuriteStyle) {
  auto cs = parse_connection_string(
      std::string("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=") + kKey +
          ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;",
      "AZURE_STORAGE_CONNECTION_STRING");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->protocol, "http");
  EXPECT_EQ(cs->account_name, "devstoreaccount1");
  EXPECT_EQ(cs->account_key, kKey);  // '=' inside values is kept
  EXPECT_EQ(cs->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(cs->endpoint_suffix, "core.windows.net");
}

TEST(AzureConnectionString, KeysAreCaseInsensitiveAndSasLosesItsQuestionMark) {
  auto cs = parse_connection_string(
      "blobendpoint=https://x.example;sharedaccesssignature=?sv=1&sig=abc%3D;endpointsuffix=e.cn",
      "X");
  ASSERT_TRUE(cs) << cs.error().message;
  EXPECT_EQ(cs->sas, "sv=1&sig=abc%3D");
  EXPECT_EQ(cs->blob_endpoint, "https://x.example");
  EXPECT_EQ(cs->endpoint_suffix, "e.cn");
  EXPECT_EQ(cs->protocol, "https");
}

TEST(AzureConnectionString, DevelopmentStorage) {
  auto cs = parse_connection_string("UseDevelopmentStorage=true", "X");
  ASSERT_TRUE(cs);
  EXPECT_EQ(cs->account_name, "devstoreaccount1");
  EXPECT_EQ(cs->account_key, kKey);
  EXPECT_EQ(cs->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
}

TEST(AzureConnectionString, MalformedOnesAreNamedButNeverEchoed) {
  const std::string key_part = std::string("AccountKey=") + kKey;
  for (const std::string& text :
       {"AccountName=a;" + key_part + ";junk", "AccountName=a;AccountKey=not*base64*" + key_part,
        key_part, std::string("Foo=bar"), std::string("AccountName=a;DefaultEndpointsProtocol=ftp"),
        std::string("BlobEndpoint=ftp://x"),
        std::string("BlobEndpoint=http://x;SharedAccessSignature=sv=1")}) {
    auto cs = parse_connection_string(text, "AZURE_STORAGE_CONNECTION_STRING");
    ASSERT_FALSE(cs) << text;
    EXPECT_EQ(cs.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(cs.error().message.starts_with("AZURE_STORAGE_CONNECTION_STRING"))
        << cs.error().message;
    EXPECT_EQ(cs.error().message.find("Eby8"), std::string::npos) << cs.error().message;
    EXPECT_EQ(cs.error().message.find('\n'), std::string::npos);
  }
}

std::string conn(const std::string& account, const std::string& extra = "") {
  return "DefaultEndpointsProtocol=https;AccountName=" + account + ";AccountKey=" + kKey + extra;
}

TEST(AzureCredentials, SecretWinsOverTheEnvironment) {
  Environment env{conn("acct"), "acct", kKey, "sv=1&sig=s", std::nullopt};
  auto c = resolve_credentials("acct", std::string(R"({"account_key": ")") + kKey + "\"}", env);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, AuthKind::kSharedKey);
  EXPECT_EQ(c->key, raw_key());
  EXPECT_EQ(c->source, "the Azure secret");
  EXPECT_EQ(c->endpoint, "https://acct.blob.core.windows.net");

  c = resolve_credentials("acct", std::string("?sv=2021-08-06&sp=rl&sig=abc%2B"), env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, AuthKind::kSas);
  EXPECT_EQ(c->sas, "sv=2021-08-06&sp=rl&sig=abc%2B");
  auto secrets = c->secrets();
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), "abc%2B"), secrets.end());
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), "abc+"), secrets.end());

  c = resolve_credentials("acct", conn("acct", ";BlobEndpoint=http://127.0.0.1:1/acct"), env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, AuthKind::kSharedKey);
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:1/acct");
  EXPECT_EQ(c->source, "the Azure secret");

  for (const char* bad :
       {R"({"key": "x"})", "{not json", "just text", R"({"account_key": "!!"})"}) {
    auto e = resolve_credentials("acct", std::string(bad), env);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().message.find("!!"), std::string::npos);
    EXPECT_EQ(e.error().message.find("just text"), std::string::npos);
  }
}

TEST(AzureCredentials, EnvironmentOrder) {
  Environment env{conn("acct"), "acct", kKey, "sv=1&sig=s", "http://127.0.0.1:9/acct/"};
  auto c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->source, "AZURE_STORAGE_CONNECTION_STRING");
  // No BlobEndpoint in the connection string: AZURE_STORAGE_BLOB_ENDPOINT.
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9/acct");

  env.connection_string.reset();
  c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, AuthKind::kSharedKey);
  EXPECT_EQ(c->source, "AZURE_STORAGE_KEY");

  env.key.reset();
  c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, AuthKind::kSas);
  EXPECT_EQ(c->source, "AZURE_STORAGE_SAS_TOKEN");

  env.sas_token.reset();
  env.blob_endpoint.reset();
  c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, AuthKind::kAnonymous);
  EXPECT_EQ(c->endpoint, "https://acct.blob.core.windows.net");
}

TEST(AzureCredentials, EndpointFromProtocolAndSuffix) {
  Environment env;
  env.connection_string =
      "DefaultEndpointsProtocol=http;AccountName=acct;EndpointSuffix=core.chinacloudapi.cn";
  auto c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->kind, AuthKind::kAnonymous);
  EXPECT_EQ(c->endpoint, "http://acct.blob.core.chinacloudapi.cn");
}

TEST(AzureCredentials, AccountMismatchIsAClearError) {
  Environment env;
  env.connection_string = conn("other");
  auto c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_FALSE(c);
  EXPECT_NE(
      c.error().message.find("AZURE_STORAGE_CONNECTION_STRING is for storage account 'other'"),
      std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("'acct'"), std::string::npos);

  Environment env2;
  env2.account = "other";
  env2.key = kKey;
  c = resolve_credentials("acct", std::nullopt, env2);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("AZURE_STORAGE_ACCOUNT"), std::string::npos);
  EXPECT_EQ(c.error().message.find("Eby8"), std::string::npos);
}

TEST(AzureCredentials, BadValuesAreNamed) {
  Environment env;
  env.key = "this is not base64";
  auto c = resolve_credentials("acct", std::nullopt, env);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("AZURE_STORAGE_KEY"), std::string::npos);
  EXPECT_EQ(c.error().message.find("this is not"), std::string::npos);

  Environment env2;
  env2.sas_token = "sv=2021-08-06&sp=r";
  c = resolve_credentials("acct", std::nullopt, env2);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("AZURE_STORAGE_SAS_TOKEN"), std::string::npos);

  Environment env3;
  env3.blob_endpoint = "127.0.0.1:10000";
  c = resolve_credentials("acct", std::nullopt, env3);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("AZURE_STORAGE_BLOB_ENDPOINT"), std::string::npos);
}

}  // namespace
}  // namespace modelcache::source::azure
