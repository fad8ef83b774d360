#include "deploy/pin_file.hpp"

#include <gtest/gtest.h>

#include "deploy/runner.hpp"
#include "temp_dir.hpp"

using namespace modelcache;
using namespace modelcache::deploy;

namespace {

const std::string kCommit = "a9f1c3d2e4b5a6978877665544332211ffeeddcc";

DeployConfig config(std::string_view yaml) {
  auto c = parse_truss_config(yaml, "config.yaml");
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return *c;
}

PinFile sample() {
  PinFile p;
  p.config = "config.yaml";
  p.created_at = 1700000000;
  PinnedEntry e;
  e.entry = "model_cache[0]";
  e.source = "org/name@main";
  e.ref = "hf://org/name";
  e.pinned = "hf://org/name@" + kCommit;
  e.snapshot = kCommit;
  e.allow = {"*.json"};
  e.files = {{"config.json", 12, std::string(64, 'a'), "\"etag\"", "gitsha1:" + std::string(40, 'b')}};
  p.entries.push_back(e);
  return p;
}

}  // namespace

TEST(PinFile, RoundTripsThroughJson) {
  PinFile p = sample();
  auto back = PinFile::from_json(p.to_json());
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->entries.size(), 1u);
  const PinnedEntry& e = back->entries[0];
  EXPECT_EQ(e.pinned, "hf://org/name@" + kCommit);
  EXPECT_TRUE(e.ref_is_pinnable);
  EXPECT_EQ(e.allow, std::vector<std::string>{"*.json"});
  ASSERT_EQ(e.files.size(), 1u);
  EXPECT_EQ(e.files[0].etag, "\"etag\"");
  EXPECT_EQ(e.files[0].size, 12u);
  EXPECT_EQ(back->created_at, 1700000000);
}

TEST(PinFile, WriteIsAtomicAndReadable) {
  mctest::TempDir dir;
  ASSERT_TRUE(write_pin_file(dir / "config.yaml.lock", sample()));
  auto back = read_pin_file(dir / "config.yaml.lock");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->entries[0].snapshot, kCommit);
}

TEST(PinFile, FindMatchesTheConfigOrSaysToRelock) {
  PinFile p = sample();
  auto same = config("model_cache:\n  - repo_id: org/name\n    revision: main\n    allow_patterns: ['*.json']\n");
  auto found = p.find(same.entries[0]);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ((*found)->snapshot, kCommit);

  auto moved = config("model_cache:\n  - repo_id: org/name\n    revision: v2\n    allow_patterns: ['*.json']\n");
  auto stale = p.find(moved.entries[0]);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("modelcache lock"), std::string::npos);

  auto patterns = config("model_cache:\n  - repo_id: org/name\n    revision: main\n");
  EXPECT_FALSE(p.find(patterns.entries[0]));

  auto two = config("model_cache:\n  - repo_id: org/name\n    revision: main\n    allow_patterns: ['*.json']\n"
                    "  - repo_id: org/other\n");
  auto missing = p.find(two.entries[1]);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no pin for model_cache[1]"), std::string::npos);
}

TEST(PinFile, RejectsForeignOrNewerFiles) {
  EXPECT_FALSE(PinFile::from_json("not json"));
  EXPECT_FALSE(PinFile::from_json(R"({"format": "other", "version": 1, "entries": []})"));
  auto newer = PinFile::from_json(R"({"format": "modelcache-lock", "version": 2, "entries": []})");
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("version 2"), std::string::npos);
  EXPECT_FALSE(PinFile::from_json(
      R"({"format": "modelcache-lock", "version": 1, "entries": [{"entry": "model_cache[0]"}]})"));
}

TEST(Runner, MountsMayNotCollideOrNest) {
  auto ok = config("model_cache:\n  - repo_id: a/b\n    volume_folder: one\n  - repo_id: c/d\n    volume_folder: two\n");
  EXPECT_TRUE(check_mounts(ok, "/root"));
  auto same = config("model_cache:\n  - repo_id: a/b\n    volume_folder: one\n  - repo_id: c/d\n    volume_folder: one/\n");
  auto r = check_mounts(same, "/root");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("model_cache[0] a/b"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("model_cache[1] c/d"), std::string::npos);
  auto nested = config("model_cache:\n  - repo_id: a/b\n    volume_folder: one\n"
                       "weights:\n  - source: hf://c/d\n    mount_location: /root/one/inner\n");
  EXPECT_FALSE(check_mounts(nested, "/root"));
  EXPECT_FALSE(check_mounts(ok, "relative-root"));
}

TEST(PinFile, BucketPinsCarryTheSnapshotIdAndUrlsDoNot) {
  PinFile p = sample();
  PinnedEntry& bucket = p.entries[0];
  bucket.entry = "model_cache[0]";
  bucket.source = "s3://bucket/models/x";
  bucket.ref = "s3://bucket/models/x";
  bucket.pinned = "s3://bucket/models/x@" + kCommit;
  PinnedEntry url = bucket;
  url.entry = "weights[0]";
  url.source = url.ref = url.pinned = "https://example.com/files/x.bin";
  p.entries.push_back(url);
  auto back = PinFile::from_json(p.to_json());
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_TRUE(back->entries[0].ref_is_pinnable);
  // An https URL has no pin syntax: prefetch --lock checks the snapshot id instead.
  EXPECT_FALSE(back->entries[1].ref_is_pinnable);
}
