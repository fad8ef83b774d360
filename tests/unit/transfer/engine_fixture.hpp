// Shared setup of the engine tests: one fault origin per suite serving a temp
// directory, a temp directory per test for part files, fast retry settings.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>

#include "fault_origin.hpp"
#include "temp_dir.hpp"
#include "transfer/engine.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace mctest {

using modelcache::transfer::FetchRequest;
using modelcache::transfer::FetchResult;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = std::make_unique<TempDir>();
    origin_ = std::make_unique<FaultOrigin>(root_->path());
  }
  static void TearDownTestSuite() {
    origin_.reset();
    root_.reset();
  }
  void SetUp() override {
    origin_->reset();
    settings_.max_connections = 8;
    settings_.max_connections_per_host = 4;
    settings_.min_segment_bytes = 1 << 20;
    settings_.max_attempts = 4;
    settings_.backoff_base = std::chrono::milliseconds(20);
    settings_.stall_timeout = std::chrono::seconds(2);
    settings_.connect_timeout = std::chrono::seconds(5);
  }

  // Puts `size` random bytes at <origin root>/<name>; returns the content.
  const std::string& make_file(const std::string& name, std::size_t size) {
    std::string& data = files_[name];
    data = random_bytes(size, std::hash<std::string>{}(name) ^ size);
    std::filesystem::create_directories((root_->path() / name).parent_path());
    std::ofstream(root_->path() / name, std::ios::binary | std::ios::trunc) << data;
    return data;
  }
  std::string sha256_of(const std::string& name) {
    return modelcache::util::sha256_hex(files_.at(name));
  }

  // A request for `name` through the fault modes in `prefix` ("" or "reset/", ...),
  // with its true size and sha256 unless told otherwise.
  FetchRequest request(const std::string& name, const std::string& prefix = "",
                       const std::string& query = "") {
    FetchRequest r;
    r.label = name;
    r.url = origin_->url(prefix + name) + (query.empty() ? "" : "?" + query);
    r.size = files_.at(name).size();
    r.expected = modelcache::core::Digest{modelcache::core::DigestAlgo::kSha256, sha256_of(name)};
    std::string flat = name;
    std::replace(flat.begin(), flat.end(), '/', '_');
    r.part_path = tmp_ / (flat + ".part");
    r.journal_path = tmp_ / (flat + ".journal");
    return r;
  }

  std::vector<modelcache::Result<FetchResult>> fetch(const std::vector<FetchRequest>& rs) {
    modelcache::transfer::Engine engine(settings_);
    return engine.fetch(rs);
  }
  modelcache::Result<FetchResult> fetch_one(const FetchRequest& r) { return fetch({r}).at(0); }

  // The result is the right file: digest, size, bytes on disk; the journal is gone.
  void expect_fetched(const modelcache::Result<FetchResult>& res, const FetchRequest& r,
                      const std::string& name) {
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->sha256, sha256_of(name));
    EXPECT_EQ(res->size, files_.at(name).size());
    EXPECT_TRUE(read_all(r.part_path) == files_.at(name)) << "part file differs for " << name;
    EXPECT_FALSE(modelcache::util::exists(r.journal_path));
  }

  // Log entries for requests whose path ends with `name`.
  std::vector<nlohmann::json> requests_for(const std::string& name) {
    std::vector<nlohmann::json> out;
    for (const auto& e : origin_->log()) {
      std::string p = e["path"];
      if (p.size() >= name.size() && p.compare(p.size() - name.size(), name.size(), name) == 0) {
        out.push_back(e);
      }
    }
    return out;
  }

  static inline std::unique_ptr<TempDir> root_;
  static inline std::unique_ptr<FaultOrigin> origin_;
  static inline std::map<std::string, std::string> files_;
  modelcache::core::TransferSettings settings_;
  TempDir tmp_;
};

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace mctest
