#include "core/model_ref.hpp"

#include <gtest/gtest.h>

using namespace modelcache::core;

TEST(ModelRef, HuggingFaceForms) {
  auto r = parse_ref("hf://org/name");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefKind::kHuggingFace);
  EXPECT_EQ(r->repo, "org/name");
  EXPECT_EQ(r->revision, "main");
  EXPECT_EQ(r->id(), "hf://org/name");

  auto pr = parse_ref("hf://org/name@refs/pr/1");
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->revision, "refs/pr/1");

  auto ds = parse_ref("hf://datasets/org/data@v1.0");
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->repo_type, RepoType::kDataset);
  EXPECT_EQ(ds->hub_type_path(), "datasets");
  EXPECT_EQ(ds->id(), "hf://datasets/org/data");

  auto legacy = parse_ref("hf://gpt2");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->repo, "gpt2");
}

TEST(ModelRef, RejectsBadRefsWithOneLine) {
  for (const char* bad : {"hf://", "hf://a/b/c", "hf://../x", "hf://org/na me", "hf://org/name@",
                          "s4://bucket/x", "", "file://relative/path", "http:///nohost"}) {
    auto r = parse_ref(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, modelcache::ErrorCode::kInvalidRef) << bad;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
}

TEST(ModelRef, FolderNamesNeverCollide) {
  // Case and punctuation variants slug alike but must get different folders.
  auto a = parse_ref("hf://Org/Model")->folder_name();
  auto b = parse_ref("hf://org/model")->folder_name();
  auto c = parse_ref("hf://org-model")->folder_name();
  auto d = parse_ref("hf://datasets/org/model")->folder_name();
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(b, d);
  EXPECT_EQ(a, parse_ref("hf://Org/Model@other")->folder_name()) << "revision is not part of the id";
  EXPECT_EQ(b.rfind("org-model-", 0), 0u) << b;
  for (const auto& f : {a, b, c, d}) {
    EXPECT_EQ(f.find('/'), std::string::npos);
    EXPECT_LE(f.size(), 64u + 17u);
  }
}

TEST(ModelRef, LocalPathsAreAbsolute) {
  auto r = parse_ref("./some/dir/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RefKind::kFile);
  EXPECT_TRUE(r->repo.starts_with("/"));
  EXPECT_FALSE(r->repo.ends_with("/"));
  auto f = parse_ref("file:///srv/models/x");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->repo, "/srv/models/x");
  EXPECT_TRUE(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("main"));
}

TEST(ModelRef, BucketForms) {
  auto s3 = parse_ref("s3://my-bucket/models/llama/");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->kind, RefKind::kS3);
  EXPECT_TRUE(s3->is_bucket());
  EXPECT_EQ(s3->bucket(), "my-bucket");
  EXPECT_EQ(s3->prefix(), "models/llama/");
  EXPECT_EQ(s3->revision, "");
  EXPECT_EQ(s3->id(), "s3://my-bucket/models/llama/");

  auto whole = parse_ref("gs://bucket");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->kind, RefKind::kGcs);
  EXPECT_EQ(whole->bucket(), "bucket");
  EXPECT_EQ(whole->prefix(), "");

  auto az = parse_ref("azure://acct/weights/sdxl/unet");
  ASSERT_TRUE(az);
  EXPECT_EQ(az->kind, RefKind::kAzure);
  EXPECT_EQ(az->bucket(), "acct/weights");
  EXPECT_EQ(az->prefix(), "sdxl/unet");
  EXPECT_EQ(az->id(), "az://acct/weights/sdxl/unet");
  EXPECT_EQ(parse_ref("az://acct/weights/sdxl/unet")->folder_name(), az->folder_name());

  // A trailing @ + 40 hex pins a snapshot; any other '@' is part of the key.
  const std::string pin(40, 'a');
  auto pinned = parse_ref("s3://b/p@" + pin);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->revision, pin);
  EXPECT_EQ(pinned->prefix(), "p");
  EXPECT_EQ(pinned->folder_name(), parse_ref("s3://b/p")->folder_name());
  auto at_in_key = parse_ref("s3://b/user@host/x");
  ASSERT_TRUE(at_in_key);
  EXPECT_EQ(at_in_key->prefix(), "user@host/x");
  EXPECT_EQ(at_in_key->revision, "");

  EXPECT_NE(parse_ref("s3://b/p")->folder_name(), parse_ref("gs://b/p")->folder_name());
  for (const char* bad : {"s3://", "s3:///prefix", "gs://bu cket/x", "az://acct", "az://acct/",
                          "s3://../x", "s3://b/a\\b"}) {
    auto r = parse_ref(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, modelcache::ErrorCode::kInvalidRef) << bad;
  }
}

TEST(ModelRef, SignedUrlQueryNeverReachesTheId) {
  auto r = parse_ref("https://h.example/m/model.bin?X-Amz-Signature=TOPSECRET&X-Amz-Date=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo.find("TOPSECRET") != std::string::npos, true) << "the URL itself is kept";
  EXPECT_EQ(r->id().find("TOPSECRET"), std::string::npos) << r->id();
  EXPECT_EQ(r->folder_name().find("topsecret"), std::string::npos) << r->folder_name();
  EXPECT_EQ(r->id().rfind("https://h.example/m/model.bin?query-sha256=", 0), 0u) << r->id();
  // Different queries stay different models; no query is the bare URL.
  EXPECT_NE(r->id(), parse_ref("https://h.example/m/model.bin?X-Amz-Signature=OTHER")->id());
  EXPECT_EQ(parse_ref("https://h.example/m/model.bin")->id(), "https://h.example/m/model.bin");
}
