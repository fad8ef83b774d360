// List Blobs parsing, blob selection under a prefix, and error mapping of the
// Azure origin. The XML follows the List Blobs reference (EnumerationResults);
// the end-to-end behaviour against real Azurite is in tests/integration/test_azure.py.
#include "source/azure_source.hpp"

#include <gtest/gtest.h>

#include "core/model_ref.hpp"

namespace modelcache::source {
namespace {

constexpr const char* kBlobListPage1 = R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="models">
  <Prefix>llama/</Prefix>
  <MaxResults>2</MaxResults>
  <Blobs>
    <Blob>
      <Name>llama/config.json</Name>
      <Properties>
        <Last-Modified>Wed, 25 Nov 2026 04:45:09 GMT</Last-Modified>
        <Etag>0x8DE2C1B0F6A3E11</Etag>
        <Content-Length>18</Content-Length>
        <Content-Type>application/octet-stream</Content-Type>
        <Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5>
        <BlobType>BlockBlob</BlobType>
      </Properties>
    </Blob>
    <Blob>
      <Name Encoded="true">llama/odd%EF%BF%BEname.bin</Name>
      <Properties>
        <Etag>0x2</Etag>
        <Content-Length>5</Content-Length>
        <Content-MD5 />
      </Properties>
    </Blob>
  </Blobs>
  <NextMarker>2!96!MDAwMDI2IWxsYW1hL29kZA--</NextMarker>
</EnumerationResults>)";

constexpr const char* kBlobListPage2 = R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ContainerName="models"><Marker>2!96!MDAwMDI2IWxsYW1hL29kZA--</Marker>
<Blobs><Blob><Name>llama/w.bin</Name><Properties><Etag>0x3</Etag><Content-Length>40000000</Content-Length>
<Content-MD5>not-md5</Content-MD5></Properties></Blob></Blobs><NextMarker/></EnumerationResults>)";

TEST(AzureBlobList, ParsesBlobsDigestsAndTheNextMarker) {
  auto page = parse_azure_blob_list(kBlobListPage1);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->blobs.size(), 2u);
  EXPECT_EQ(page->blobs[0].name, "llama/config.json");
  EXPECT_EQ(page->blobs[0].size, 18u);
  EXPECT_EQ(page->blobs[0].etag, "0x8DE2C1B0F6A3E11");
  EXPECT_EQ(page->blobs[0].last_modified, "Wed, 25 Nov 2026 04:45:09 GMT");
  EXPECT_EQ(page->blobs[0].md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(page->blobs[1].name, "llama/odd\xEF\xBF\xBEname.bin");  // Encoded="true"
  EXPECT_EQ(page->blobs[1].md5_hex, "");
  EXPECT_EQ(page->next_marker, "2!96!MDAwMDI2IWxsYW1hL29kZA--");

  auto last = parse_azure_blob_list(kBlobListPage2);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->blobs.size(), 1u);
  EXPECT_EQ(last->blobs[0].size, 40000000u);
  EXPECT_EQ(last->blobs[0].md5_hex, "");  // not 16 bytes of base64: no promise
  EXPECT_EQ(last->next_marker, "");
}

TEST(AzureBlobList, RejectsWhatIsNotAListing) {
  for (const char* body :
       {"", "<Error><Code>X</Code></Error>", "{\"json\": 1}",
        "<EnumerationResults><Blobs><Blob><Name>a</Name></Blob></Blobs></EnumerationResults>"}) {
    auto page = parse_azure_blob_list(body);
    ASSERT_FALSE(page) << body;
    EXPECT_EQ(page.error().code, ErrorCode::kProtocol);
  }
  auto empty = parse_azure_blob_list("<EnumerationResults><Blobs/></EnumerationResults>");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->blobs.empty());
}

std::vector<AzureBlob> blobs(std::initializer_list<const char*> names) {
  std::vector<AzureBlob> out;
  for (const char* n : names) out.push_back({n, 1, "e", "", ""});
  return out;
}

std::vector<std::string> paths(const std::vector<AzureBlob>& all, std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& s : select_azure_blobs(all, prefix)) out.push_back(s.path);
  return out;
}

TEST(AzureSelect, PrefixIsADirectoryElseTheOneBlobOfThatName) {
  auto all = blobs({"llama", "llama-v2/x.bin", "llama/", "llama/a.bin", "llama/tok/",
                    "llama/tok/v.txt", "other/llama/a.bin"});
  // The folder wins over a blob of the same name, as for s3:// and gs://.
  EXPECT_EQ(paths(all, "llama"), (std::vector<std::string>{"a.bin", "tok/v.txt"}));
  // Only a marker below: the folder is empty, so the exact blob is the file.
  auto only_exact = blobs({"llama", "llama-v2/x.bin", "llama/"});
  EXPECT_EQ(paths(only_exact, "llama"), std::vector<std::string>{"llama"});
  EXPECT_TRUE(paths(only_exact, "llama/").empty());
  auto no_exact =
      blobs({"llama-v2/x.bin", "llama/", "llama/a.bin", "llama/tok/", "llama/tok/v.txt"});
  EXPECT_EQ(paths(no_exact, "llama"), (std::vector<std::string>{"a.bin", "tok/v.txt"}));
  EXPECT_EQ(paths(all, "llama/"), (std::vector<std::string>{"a.bin", "tok/v.txt"}));
  EXPECT_EQ(paths(all, "llama/tok/v.txt"), std::vector<std::string>{"v.txt"});
  EXPECT_EQ(paths(all, "").size(), 5u);  // markers skipped
  EXPECT_TRUE(paths(all, "nothing").empty());
  EXPECT_TRUE(paths(all, "llam").empty());  // not a path component
}

azure::Credentials creds(azure::AuthKind kind, std::string source) {
  azure::Credentials c;
  c.kind = kind;
  c.account = "acct";
  c.source = std::move(source);
  c.endpoint = "https://acct.blob.core.windows.net";
  return c;
}

TEST(AzureErrors, CodeFromHeaderOrBodyNeverTheDetail) {
  net::HttpResponse r;
  r.status = 403;
  r.body =
      "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed"
      "</Message><AuthenticationErrorDetail>The MAC signature found in the HTTP request "
      "'c2VjcmV0' is not the same</AuthenticationErrorDetail></Error>";
  EXPECT_EQ(azure_error_code(r), "AuthenticationFailed");
  r.headers.push_back({"x-ms-error-code", "AuthorizationFailure"});
  EXPECT_EQ(azure_error_code(r), "AuthorizationFailure");
  net::HttpResponse none;
  none.status = 500;
  none.body = "oops";
  EXPECT_EQ(azure_error_code(none), "");
}

TEST(AzureErrors, EachCaseSaysWhatToFix) {
  const std::string ref = "az://acct/models/llama";
  auto key = creds(azure::AuthKind::kSharedKey, "AZURE_STORAGE_KEY");
  auto e = azure_list_error(403, "AuthenticationFailed", ref, "models", key);
  EXPECT_EQ(e.code, ErrorCode::kUnauthorized);
  EXPECT_EQ(e.message,
            "az://acct/models/llama: the storage account rejected the credentials from "
            "AZURE_STORAGE_KEY (HTTP 403 AuthenticationFailed): check the account key: it must be "
            "key1 or key2 of storage account 'acct'");
  // Azurite's word for a bad key.
  EXPECT_EQ(azure_list_error(403, "AuthorizationFailure", ref, "models", key).code,
            ErrorCode::kUnauthorized);

  e = azure_list_error(404, "ContainerNotFound", ref, "models", key);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("container 'models' does not exist in storage account 'acct'"),
            std::string::npos);

  auto sas = creds(azure::AuthKind::kSas, "AZURE_STORAGE_SAS_TOKEN");
  e = azure_list_error(403, "AuthorizationPermissionMismatch", ref, "models", sas);
  EXPECT_EQ(e.code, ErrorCode::kForbidden);
  EXPECT_NE(e.message.find("list (l) and read (r)"), std::string::npos);
  e = azure_list_error(403, "AuthenticationFailed", ref, "models", sas);
  EXPECT_EQ(e.code, ErrorCode::kUnauthorized);
  EXPECT_NE(e.message.find("check the SAS token"), std::string::npos);

  auto anon = creds(azure::AuthKind::kAnonymous, "no credentials");
  e = azure_list_error(404, "ResourceNotFound", ref, "models", anon);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("no credentials were sent"), std::string::npos);
  EXPECT_NE(e.message.find("AZURE_STORAGE_CONNECTION_STRING"), std::string::npos);

  e = azure_list_error(503, "ServerBusy", ref, "models", key);
  EXPECT_EQ(e.code, ErrorCode::kNetwork);
  EXPECT_NE(e.message.find("ServerBusy"), std::string::npos);
  for (const auto& err : {azure_list_error(400, "InvalidQueryParameterValue", ref, "models", key),
                          azure_list_error(404, "ResourceNotFound", ref, "models", key)}) {
    EXPECT_TRUE(err.message.starts_with(ref)) << err.message;
    EXPECT_EQ(err.message.find('\n'), std::string::npos);
  }
}

TEST(AzureSource, CredentialErrorsNameTheRefWithoutNetwork) {
  core::Config config;
  azure::Environment env;
  env.connection_string = "AccountName=acct;AccountKey=%%%";
  AzureSource source(config, env);
  auto ref = core::parse_ref("az://acct/models/llama");
  ASSERT_TRUE(ref);
  auto listing = source.list(*ref, {});
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().message,
            "az://acct/models/llama: AZURE_STORAGE_CONNECTION_STRING: the account key is not "
            "base64: copy key1 or key2 from the storage account's Access keys page");
}

TEST(AzureSource, TheSecretInListOptionsWinsAndIsNeverEchoed) {
  core::Config config;
  azure::Environment env;
  // Valid environment credentials that would be used (and need the network) if
  // the secret were ignored.
  env.connection_string =
      "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=aGVsbG8=;"
      "BlobEndpoint=http://127.0.0.1:1/acct";
  AzureSource source(config, env);
  auto ref = core::parse_ref("az://acct/models/llama");
  ASSERT_TRUE(ref);
  ListOptions options;
  options.secret = R"({"account_key": "c2VjcmV0*not-base64", "account_name": "acct"})";
  auto listing = source.list(*ref, options);
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(listing.error().message.starts_with("az://acct/models/llama: the Azure secret"))
      << listing.error().message;
  EXPECT_EQ(listing.error().message.find("c2VjcmV0"), std::string::npos);

  options.secret = R"({"account_key": "aGVsbG8=", "account_name": "other"})";
  listing = source.list(*ref, options);
  ASSERT_FALSE(listing);
  EXPECT_NE(listing.error().message.find("the Azure secret is for storage account 'other'"),
            std::string::npos)
      << listing.error().message;
  EXPECT_EQ(listing.error().message.find("aGVsbG8"), std::string::npos);
}

}  // namespace
}  // namespace modelcache::source
