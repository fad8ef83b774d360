// A Hub fixture (tests/fixtures/hf_fixture.py) over a fixed set of repositories,
// for the source tests: its endpoint as a Config, its request log, and the ids a
// test expects (git blob sha1, commit) computed independently of the fixture.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/model_ref.hpp"
#include "fixture_process.hpp"
#include "net/http_client.hpp"
#include "source/hf_source.hpp"
#include "temp_dir.hpp"
#include "util/hasher.hpp"

namespace mctest {

namespace fs = std::filesystem;

inline void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(content.data(), std::streamsize(content.size()));
}

inline std::string pattern_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 7) % 251);
  return out;
}

inline std::string git_blob_sha1(std::string_view content) {
  modelcache::util::Hasher h(modelcache::util::HashAlgo::kSha1);
  h.update("blob " + std::to_string(content.size()) + std::string(1, '\0'));
  h.update(content);
  return h.finish_hex();
}

// Files of one revision: path -> content. Files above kLfsThreshold are LFS.
using Tree = std::map<std::string, std::string>;
inline constexpr std::size_t kLfsThreshold = 1024;

// The fixture's commit id: sha1 over sorted "path\0oid\n" (oid = sha256 for LFS).
inline std::string expected_commit(const Tree& tree) {
  std::string listing;
  for (const auto& [path, content] : tree) {
    std::string oid = content.size() > kLfsThreshold ? modelcache::util::sha256_hex(content)
                                                     : git_blob_sha1(content);
    listing += path + std::string(1, '\0') + oid + "\n";
  }
  modelcache::util::Hasher h(modelcache::util::HashAlgo::kSha1);
  h.update(listing);
  return h.finish_hex();
}

inline Tree model_main() {
  return {{"config.json", R"({"model_type": "test"})"},
          {"weights.bin", pattern_bytes(4096)},
          {"sub/deep/x.txt", "deep\n"},
          {"sub/y.txt", "y\n"},
          {"my file.txt", "spaces\n"}};
}
inline Tree model_pr1() { return {{"pr.txt", "pr\n"}}; }
inline Tree many_files() {
  Tree t;
  for (int i = 0; i < 25; ++i) t[fmt::format("f{:02}.txt", i)] = fmt::format("file {}\n", i);
  return t;
}
inline Tree dataset_main() {
  return {{"data.csv", "a,b\n1,2\n"}, {"big.parquet", pattern_bytes(2048)}};
}

struct LogEntry {
  std::string listener, method, path, host, range;
  bool had_authorization = false;
  long status = 0;
};

class HubFixture {
 public:
  explicit HubFixture(std::vector<std::string> extra_args) {
    auto add = [&](const fs::path& dir, const Tree& tree) {
      for (const auto& [path, content] : tree) write_file(dir / path, content);
    };
    add(root_ / "org/model", model_main());
    add(root_ / "org/model-pr1", model_pr1());
    write_file(root_ / "org/model.refs.json", R"({"refs/pr/1": "model-pr1", "v1.0": "model-pr1"})");
    add(root_ / "org/many", many_files());
    add(root_ / "datasets/org/ds", dataset_main());
    add(root_ / "org/gated", {{"g.txt", "g\n"}});
    add(root_ / "gpt2", {{"config.json", "{}"}});
    std::vector<std::string> args = {"--root", root_.path().string(), "--lfs-threshold",
                                     std::to_string(kLfsThreshold)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ =
        std::make_unique<FixtureProcess>(std::string(MC_FIXTURES_DIR) + "/hf_fixture.py", args);
  }

  bool ok() const { return process_->ok(); }
  std::string error() const { return process_->error(); }
  std::string url() const { return process_->url(); }
  int port() const { return process_->port(); }
  std::string lfs_port() const { return process_->value("LFS_PORT").value_or(""); }

  modelcache::core::Config config() const {
    modelcache::core::Config c;
    c.hf_endpoint = url();
    c.transfer.max_attempts = 2;
    c.transfer.backoff_base = std::chrono::milliseconds(10);
    return c;
  }

  std::vector<LogEntry> log() const {
    modelcache::net::HttpClient client(config().transfer);
    auto r = client.send({.url = url() + "/__log"});
    std::vector<LogEntry> out;
    if (!r || r->status != 200) {
      ADD_FAILURE() << "cannot read the fixture log";
      return out;
    }
    for (const auto& e : nlohmann::json::parse(r->body)) {
      out.push_back({e["listener"], e["method"], e["path"], e["host"].is_string() ? e["host"] : "",
                     e["range"].is_string() ? e["range"] : "", e["had_authorization"],
                     e["status"]});
    }
    return out;
  }

  void clear_log() const {
    modelcache::net::HttpClient client(config().transfer);
    auto r = client.send({.method = "DELETE", .url = url() + "/__log"});
    if (!r || r->status != 200) ADD_FAILURE() << "cannot clear the fixture log";
  }

 private:
  TempDir root_;
  std::unique_ptr<FixtureProcess> process_;
};

// A test suite that shares one fixture process: `Suite` says how to start it with
// a static fixture_args(); each test starts with an empty request log.
template <class Suite>
class HubSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { hub_ = new HubFixture(Suite::fixture_args()); }
  static void TearDownTestSuite() {
    delete hub_;
    hub_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(hub_->ok()) << hub_->error();
    hub_->clear_log();
  }
  static inline HubFixture* hub_ = nullptr;
};

inline modelcache::Result<modelcache::source::Listing> hf_list(
    const HubFixture& hub, std::string_view text, std::optional<std::string> token = {}) {
  auto ref = modelcache::core::parse_ref(text);
  EXPECT_TRUE(ref) << text;
  modelcache::source::HfSource source(hub.config());
  return source.list(*ref, {std::move(token)});
}

}  // namespace mctest
