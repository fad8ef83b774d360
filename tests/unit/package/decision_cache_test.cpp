// The decision cache key: same inputs -> same key, any input change -> a new key;
// the token never appears in what is written; TTL, malformed and foreign entries.
#include "package/decision_cache.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"

using namespace modelcache;
using namespace modelcache::package;

namespace {

DecisionInputs base() {
  DecisionInputs in;
  in.model = "hf://org/m";
  in.revision = "main";
  in.request = PackageRequest{{"onnx", "trt"}, {"fp16"}, 4};
  in.machine = MachineInfo{{"avx2"}, {"8.6"}, "probe"};
  in.credential = "token:hf_secret";
  return in;
}

}  // namespace

TEST(DecisionKey, StableAndSensitiveToEveryInput) {
  EXPECT_EQ(decision_key(base()), decision_key(base()));
  EXPECT_EQ(decision_key(base()).size(), 64u);
  auto other_source = base();
  other_source.machine.source = "MODELCACHE_FAKE_GPU";  // how the facts were found is not a fact
  EXPECT_EQ(decision_key(other_source), decision_key(base()));

  std::vector<std::function<void(DecisionInputs&)>> changes{
      [](DecisionInputs& i) { i.model = "hf://org/n"; },
      [](DecisionInputs& i) { i.revision = "v1"; },
      [](DecisionInputs& i) { i.request.backends = {"trt", "onnx"}; },  // order matters
      [](DecisionInputs& i) { i.request.backends.clear(); },
      [](DecisionInputs& i) { i.request.quantizations = {"fp32"}; },
      [](DecisionInputs& i) { i.request.batch_size = 8; },
      [](DecisionInputs& i) { i.request.batch_size.reset(); },
      [](DecisionInputs& i) { i.machine.cpu_features = {"avx2", "avx512f"}; },
      [](DecisionInputs& i) { i.machine.gpus = {"7.5"}; },
      [](DecisionInputs& i) { i.machine.gpus.clear(); },
      [](DecisionInputs& i) { i.credential = "token:other"; },
      [](DecisionInputs& i) { i.credential.reset(); },
  };
  std::set<std::string> keys{decision_key(base())};
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto in = base();
    changes[i](in);
    EXPECT_TRUE(keys.insert(decision_key(in)).second) << "change " << i << " did not change the key";
  }
}

TEST(DecisionKey, CanonicalInputsHoldNoSecret) {
  auto text = canonical_inputs(base());
  EXPECT_EQ(text.find("hf_secret"), std::string::npos) << text;
  EXPECT_NE(text.find("credential_sha256"), std::string::npos);
}

TEST(DecisionCache, RoundTripTtlAndBadEntries) {
  mctest::TempDir tmp;
  DecisionCache cache(tmp / "rc", std::chrono::seconds(3600));
  EXPECT_FALSE(cache.read(base()));
  Decision d{"onnx-fp16", std::string(40, 'a'), {"a.onnx", "modelcache-packages.json"}, util::unix_now()};
  ASSERT_TRUE(cache.write(base(), d));
  auto back = cache.read(base());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->package, "onnx-fp16");
  EXPECT_EQ(back->snapshot_id, d.snapshot_id);
  EXPECT_EQ(back->files, d.files);
  auto written = util::read_file(cache.entry_path(base()));
  ASSERT_TRUE(written);
  EXPECT_EQ(written->find("hf_secret"), std::string::npos);
  EXPECT_EQ(util::list_dir(tmp / "rc").size(), 1u);  // no temporary left behind

  // Expired, and dated in the future: both misses.
  d.created_at = util::unix_now() - 3600;
  ASSERT_TRUE(cache.write(base(), d));
  EXPECT_FALSE(cache.read(base()));
  d.created_at = util::unix_now() + 600;
  ASSERT_TRUE(cache.write(base(), d));
  EXPECT_FALSE(cache.read(base()));

  // Malformed: ignored, then replaced by the next write.
  for (std::string bad : {"{", "[]", R"({"format": 1, "package": 3})", ""}) {
    ASSERT_TRUE(util::write_file_atomic(cache.entry_path(base()), bad));
    EXPECT_FALSE(cache.read(base())) << bad;
  }
  d.created_at = util::unix_now();
  ASSERT_TRUE(cache.write(base(), d));
  EXPECT_TRUE(cache.read(base()));

  // An entry written for other inputs under this name (a collision, or a hand
  // edit) is not used.
  auto other = base();
  other.revision = "v2";
  ASSERT_TRUE(cache.write(other, d));
  ASSERT_TRUE(util::rename_path(cache.entry_path(other), cache.entry_path(base())));
  EXPECT_FALSE(cache.read(base()));
}

TEST(DecisionCache, PurgeRemovesEntriesOnly) {
  mctest::TempDir tmp;
  DecisionCache cache(tmp.path(), std::chrono::seconds(3600));
  ASSERT_TRUE(cache.write(base(), Decision{"p", "s", {"f"}, util::unix_now()}));
  ASSERT_TRUE(util::write_file_atomic(tmp / "keep.txt", "mine"));
  auto removed = purge_decisions(tmp.path());
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(util::list_dir(tmp.path()), std::vector<std::string>{"keep.txt"});
  auto none = purge_decisions(tmp / "absent");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}
