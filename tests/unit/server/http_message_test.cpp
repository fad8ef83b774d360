// Request-head parsing, Range resolution and the Hub's file descriptions: the
// pure parts of the daemon (the routes are covered end to end by test_serve.py).
#include "server/http_message.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/hub_entries.hpp"
#include "util/hasher.hpp"

using namespace modelcache;
using namespace modelcache::server;

TEST(ParseRequestHead, RequestLineHeadersAndQuery) {
  auto r = parse_request_head("GET /api/models/org/m/tree/main?recursive=true&expand=false HTTP/1.1\r\n"
                              "Host: 127.0.0.1:9\r\nRange:  bytes=0-0 \r\nConnection: close");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/api/models/org/m/tree/main");
  EXPECT_EQ(r->query, "recursive=true&expand=false");
  EXPECT_EQ(r->header("range"), "bytes=0-0");
  EXPECT_EQ(r->header("host"), "127.0.0.1:9");
  EXPECT_EQ(r->query_param("recursive"), "true");
  EXPECT_FALSE(r->query_param("cursor"));
  EXPECT_FALSE(r->keep_alive());
}

TEST(ParseRequestHead, KeepAliveDefaults) {
  EXPECT_TRUE(parse_request_head("GET / HTTP/1.1\r\nHost: x")->keep_alive());
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.0\r\nHost: x")->keep_alive());
  EXPECT_TRUE(parse_request_head("GET / HTTP/1.0\r\nConnection: Keep-Alive")->keep_alive());
}

TEST(ParseRequestHead, RejectsMalformed) {
  EXPECT_FALSE(parse_request_head("GET /\r\n"));                      // no version
  EXPECT_FALSE(parse_request_head("GET / HTTP/2.0"));                 // not HTTP/1.x
  EXPECT_FALSE(parse_request_head("GET x HTTP/1.1"));                 // not a path
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.1\r\nNoColon"));      // bad header
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.1\r\n: empty-name"));
  EXPECT_FALSE(parse_request_head("G(T / HTTP/1.1"));                 // bad method
}

TEST(ParseRange, SingleRanges) {
  auto r = parse_range("bytes=0-0", 10);
  EXPECT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 0u);
  r = parse_range("bytes=4-", 10);
  EXPECT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.first, 4u);
  EXPECT_EQ(r.last, 9u);
  r = parse_range("bytes=2-100", 10);  // clamped to the end
  EXPECT_EQ(r.last, 9u);
  r = parse_range("bytes=-3", 10);  // suffix
  EXPECT_EQ(r.first, 7u);
  EXPECT_EQ(r.last, 9u);
  r = parse_range("bytes=-30", 10);
  EXPECT_EQ(r.first, 0u);
}

TEST(ParseRange, UnsatisfiableAndIgnored) {
  EXPECT_EQ(parse_range("bytes=10-", 10).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=5-4", 10).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 10).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-0", 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-1,3-4", 10).kind, RangeKind::kWhole);  // several: whole body
  EXPECT_EQ(parse_range("items=0-1", 10).kind, RangeKind::kWhole);
  EXPECT_EQ(parse_range("bytes=a-b", 10).kind, RangeKind::kWhole);
}

TEST(SerializeHead, LengthAndConnection) {
  HttpResponse r = error_response(404, "EntryNotFound", "Entry not found");
  std::string head = serialize_head(r, true);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_NE(head.find("X-Error-Code: EntryNotFound\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(r.body.size()) + "\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("Connection: keep-alive\r\n\r\n"));
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "Entry not found");
}

TEST(HubFileInfo, LfsPointerOidAndGitOid) {
  store::ManifestEntry lfs;
  lfs.path = "model.bin";
  lfs.size = 300000;
  lfs.sha256 = std::string(64, 'a');
  lfs.origin_digest = core::Digest{core::DigestAlgo::kSha256, std::string(64, 'a')};
  HubFileInfo info = hub_file_info(lfs);
  EXPECT_TRUE(info.lfs);
  std::string pointer = lfs_pointer(info.sha256, 300000);
  EXPECT_EQ(info.pointer_size, pointer.size());
  util::Hasher h(util::HashAlgo::kSha1);
  h.update("blob " + std::to_string(pointer.size()) + std::string(1, '\0') + pointer);
  EXPECT_EQ(info.oid, h.finish_hex());  // what the Hub lists as an LFS file's oid

  store::ManifestEntry small;
  small.path = "config.json";
  small.size = 3;
  small.origin_digest = core::Digest{core::DigestAlgo::kGitSha1, std::string(40, 'b')};
  info = hub_file_info(small);
  EXPECT_FALSE(info.lfs);
  EXPECT_EQ(info.oid, std::string(40, 'b'));
}
