#include "source/hf_source.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/model_ref.hpp"
#include "hub_fixture.hpp"

namespace modelcache::source {
namespace {

using mctest::HubFixture;

Result<Listing> list(const HubFixture& hub, std::string_view text) {
  return mctest::hf_list(hub, text);
}

const RemoteFile* find(const Listing& listing, std::string_view path) {
  for (const auto& f : listing.files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::set<std::string> paths(const Listing& listing) {
  std::set<std::string> out;
  for (const auto& f : listing.files) out.insert(f.path);
  return out;
}

std::set<std::string> paths(const mctest::Tree& tree) {
  std::set<std::string> out;
  for (const auto& [p, c] : tree) out.insert(p);
  return out;
}

class HfSourceTest : public mctest::HubSuite<HfSourceTest> {
 public:
  static std::vector<std::string> fixture_args() {
    return {"--page-size", "10", "--gated", "org/gated"};
  }
};

TEST_F(HfSourceTest, ListsMainAtItsCommitWithLfsAndGitDigests) {
  auto listing = list(*hub_, "hf://org/model");
  ASSERT_TRUE(listing) << listing.error().message;
  std::string commit = mctest::expected_commit(mctest::model_main());
  EXPECT_EQ(listing->snapshot_id, commit);
  EXPECT_EQ(listing->revision, "main");
  EXPECT_EQ(paths(*listing), paths(mctest::model_main()));  // directories are not files

  const RemoteFile* weights = find(*listing, "weights.bin");
  ASSERT_NE(weights, nullptr);
  ASSERT_TRUE(weights->digest);
  EXPECT_EQ(weights->digest->algo, core::DigestAlgo::kSha256);
  EXPECT_EQ(weights->digest->hex, util::sha256_hex(mctest::pattern_bytes(4096)));
  EXPECT_EQ(weights->size, 4096u);

  const RemoteFile* deep = find(*listing, "sub/deep/x.txt");
  ASSERT_NE(deep, nullptr);
  ASSERT_TRUE(deep->digest);
  EXPECT_EQ(deep->digest->algo, core::DigestAlgo::kGitSha1);
  EXPECT_EQ(deep->digest->hex, mctest::git_blob_sha1("deep\n"));
  EXPECT_EQ(deep->size, 5u);
  EXPECT_EQ(deep->etag, deep->digest->hex);
  // Resolved against the commit, not the branch; the path is percent-encoded.
  EXPECT_EQ(deep->url, hub_->url() + "/org/model/resolve/" + commit + "/sub/deep/x.txt");
  EXPECT_EQ(find(*listing, "my file.txt")->url,
            hub_->url() + "/org/model/resolve/" + commit + "/my%20file.txt");
  EXPECT_TRUE(deep->headers.empty());  // no token, no Authorization
}

TEST_F(HfSourceTest, FileUrlsServeTheListedBytes) {
  auto listing = list(*hub_, "hf://org/model");
  ASSERT_TRUE(listing) << listing.error().message;
  net::HttpClient client(hub_->config().transfer);
  for (const auto& file : listing->files) {
    auto r = client.send({.url = file.url});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200) << file.path;
    EXPECT_EQ(r->body, mctest::model_main().at(file.path)) << file.path;
  }
}

TEST_F(HfSourceTest, EncodesPullRequestRevisionAsOneSegment) {
  auto listing = list(*hub_, "hf://org/model@refs/pr/1");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->revision, "refs/pr/1");
  EXPECT_EQ(listing->snapshot_id, mctest::expected_commit(mctest::model_pr1()));
  EXPECT_EQ(paths(*listing), paths(mctest::model_pr1()));
  auto log = hub_->log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0].path, "/api/models/org/model/revision/refs%2Fpr%2F1");
}

TEST_F(HfSourceTest, TagAndCommitRevisionsGiveTheSameSnapshot) {
  auto tag = list(*hub_, "hf://org/model@v1.0");
  ASSERT_TRUE(tag) << tag.error().message;
  auto by_commit = list(*hub_, "hf://org/model@" + tag->snapshot_id);
  ASSERT_TRUE(by_commit) << by_commit.error().message;
  EXPECT_EQ(by_commit->snapshot_id, tag->snapshot_id);
  EXPECT_EQ(by_commit->revision, tag->snapshot_id);
  EXPECT_EQ(paths(*by_commit), paths(*tag));
}

TEST_F(HfSourceTest, FollowsPaginationOverSeveralPages) {
  auto listing = list(*hub_, "hf://org/many");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->files.size(), 25u);  // no page lost, none repeated
  EXPECT_EQ(paths(*listing), paths(mctest::many_files()));
  int tree_pages = 0;
  for (const auto& e : hub_->log()) {
    if (e.path.find("/tree/") != std::string::npos) ++tree_pages;
  }
  EXPECT_EQ(tree_pages, 3);
}

TEST_F(HfSourceTest, ListsDatasetRepos) {
  auto listing = list(*hub_, "hf://datasets/org/ds");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->snapshot_id, mctest::expected_commit(mctest::dataset_main()));
  const RemoteFile* big = find(*listing, "big.parquet");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->digest->algo, core::DigestAlgo::kSha256);
  EXPECT_EQ(big->url,
            hub_->url() + "/datasets/org/ds/resolve/" + listing->snapshot_id + "/big.parquet");
  auto log = hub_->log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0].path, "/api/datasets/org/ds/revision/main");
}

TEST_F(HfSourceTest, ListsLegacyRepoWithoutOrg) {
  auto listing = list(*hub_, "hf://gpt2");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(paths(*listing), std::set<std::string>{"config.json"});
}

TEST_F(HfSourceTest, MissingRepoSaysCheckTheNameOrPassAToken) {
  auto listing = list(*hub_, "hf://org/nope");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(listing.error().message.find("org/nope"), std::string::npos);
  EXPECT_NE(listing.error().message.find("HF_TOKEN"), std::string::npos);
  EXPECT_NE(listing.error().message.find(hub_->url()), std::string::npos);
}

TEST_F(HfSourceTest, MissingRevisionIsNamed) {
  auto listing = list(*hub_, "hf://org/model@no-such-branch");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kRevisionNotFound);
  EXPECT_NE(listing.error().message.find("'no-such-branch'"), std::string::npos);
}

TEST_F(HfSourceTest, GatedRepoSaysRequestAccess) {
  auto listing = list(*hub_, "hf://org/gated");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kGated);
  EXPECT_NE(listing.error().message.find("request access"), std::string::npos);
}

TEST_F(HfSourceTest, UnreachableEndpointIsANetworkError) {
  core::Config config = hub_->config();
  config.hf_endpoint = "http://127.0.0.1:1";
  config.transfer.max_attempts = 1;
  HfSource source(config);
  auto listing = source.list(*core::parse_ref("hf://org/model"), {});
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNetwork);
}

// A mirror without the tree route: the listing comes from the revision's siblings.
class HfSiblingsTest : public mctest::HubSuite<HfSiblingsTest> {
 public:
  static std::vector<std::string> fixture_args() { return {"--no-tree"}; }
};

TEST_F(HfSiblingsTest, FallsBackToSiblingsWithSizesAndDigests) {
  auto listing = list(*hub_, "hf://org/model");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->snapshot_id, mctest::expected_commit(mctest::model_main()));
  EXPECT_EQ(paths(*listing), paths(mctest::model_main()));
  const RemoteFile* weights = find(*listing, "weights.bin");
  ASSERT_TRUE(weights && weights->digest);
  EXPECT_EQ(weights->digest->hex, util::sha256_hex(mctest::pattern_bytes(4096)));
  EXPECT_EQ(weights->size, 4096u);
  const RemoteFile* config = find(*listing, "config.json");
  ASSERT_TRUE(config && config->digest);
  EXPECT_EQ(config->digest->algo, core::DigestAlgo::kGitSha1);
  auto log = hub_->log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].status, 404);
  EXPECT_NE(log[2].path.find("blobs=true"), std::string::npos);
}

// Hostile names come back exactly as the Hub wrote them: the cache layer rejects them.
class HfHostileTest : public mctest::HubSuite<HfHostileTest> {
 public:
  static std::vector<std::string> fixture_args() {
    return {"--hostile", "--page-size", "3", "--link-style", "relative"};
  }
};

TEST_F(HfHostileTest, ReturnsHostileNamesAsIsAcrossRelativeLinks) {
  auto listing = list(*hub_, "hf://org/model");
  ASSERT_TRUE(listing) << listing.error().message;
  auto names = paths(*listing);
  for (const std::string& hostile :
       std::vector<std::string>{"../x", "/etc/x", "a\\b", std::string("a\0b", 3),
                                std::string(10000, 'a'), "a//b", "./a"}) {
    EXPECT_TRUE(names.count(hostile)) << hostile.substr(0, 20);
  }
  for (const auto& [p, c] : mctest::model_main()) EXPECT_TRUE(names.count(p)) << p;
  int tree_pages = 0;
  for (const auto& e : hub_->log()) {
    if (e.path.find("/tree/") != std::string::npos) ++tree_pages;
  }
  EXPECT_GE(tree_pages, 4);
}

}  // namespace
}  // namespace modelcache::source
