// The engine against a real HTTP origin (tests/fixtures/fault_origin.py): plain
// fetches, segmenting, stealing, many files, errors, progress, concurrency.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "engine_fixture.hpp"
#include "transfer/local_copy.hpp"
#include "transfer/range_set.hpp"

namespace mctest {
namespace {

using modelcache::ErrorCode;
using modelcache::transfer::EngineProgress;
using modelcache::transfer::kUnknownSize;

using EngineBasics = EngineTest;

TEST_F(EngineBasics, SmallFileIsOnePlainGet) {
  make_file("small.bin", 300'000);
  auto r = request("small.bin");
  auto res = fetch_one(r);
  expect_fetched(res, r, "small.bin");
  EXPECT_EQ(res->bytes_downloaded, 300'000u);
  EXPECT_FALSE(res->etag.empty());
  auto log = requests_for("small.bin");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(log[0]["range"].is_null());
  EXPECT_EQ(log[0]["status"], 200);
}

TEST_F(EngineBasics, BigFileIsFetchedInSeveralRanges) {
  constexpr std::uint64_t kSize = 64ull << 20;
  make_file("big.bin", kSize);
  // Paced like a network link (64 MiB/s per request): unpaced, loopback can hand
  // curl a connection's whole body in one turn of its loop, which would say
  // nothing about whether the connections ran side by side.
  auto r = request("big.bin", "slow/", "rate=67108864");
  auto res = fetch_one(r);
  expect_fetched(res, r, "big.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize);
  auto log = requests_for("big.bin");
  // Cut into max_connections_per_host pieces at least, every one a checked 206.
  ASSERT_GE(log.size(), 4u);
  modelcache::transfer::RangeSet covered;
  std::vector<std::pair<double, int>> edges;  // +1 at a request's start, -1 at its end
  for (const auto& e : log) {
    edges.emplace_back(e["t_start"].get<double>(), 1);
    edges.emplace_back(e["t_end"].get<double>(), -1);
    auto rr = requested_range(e, kSize);
    ASSERT_TRUE(rr) << e.dump();
    EXPECT_EQ(e["status"], 206);
    covered.add({rr->begin, rr->end});
  }
  EXPECT_TRUE(covered.covers({0, kSize}));
  // Every byte sent once: no request was cut short (bounded chunks, steals only
  // beyond the chunk in flight), so nothing the origin sent was thrown away.
  std::uint64_t sent = 0;
  for (const auto& e : log) sent += e["bytes_sent"].get<std::uint64_t>();
  EXPECT_EQ(sent, kSize);
  EXPECT_EQ(covered.total(), kSize);
  // Segments go out as several bounded requests each, over kept-alive connections.
  EXPECT_GT(log.size(), 4u);
  std::set<int> ports;
  for (const auto& e : log) ports.insert(e["client_port"].get<int>());
  EXPECT_LE(ports.size(), static_cast<std::size_t>(settings_.max_connections_per_host));
  // In parallel, not one after another on a single connection.
  std::sort(edges.begin(), edges.end());
  int running = 0, most = 0;
  for (const auto& [t, d] : edges) most = std::max(most, running += d);
  EXPECT_GE(most, 4);
}

TEST_F(EngineBasics, IdleConnectionsStealFromASlowOne) {
  constexpr std::uint64_t kSize = 8ull << 20;
  constexpr std::uint64_t kPiece = kSize / 4;
  settings_.min_segment_bytes = 256 << 10;
  make_file("steal.bin", kSize);
  // The first request for the path (the first chunk of one of the four 2 MiB
  // pieces) crawls at 512 KiB/s: alone the piece would need 4 s. The others take
  // the upper half of what it has left beyond that chunk, again and again, until
  // less than min_segment_bytes is left to it.
  auto r = request("steal.bin", "slow/", "n=1&rate=524288");
  auto start = std::chrono::steady_clock::now();
  auto res = fetch_one(r);
  double took = seconds_since(start);
  expect_fetched(res, r, "steal.bin");
  auto log = requests_for("steal.bin");
  std::vector<Requested> ranges;
  std::size_t slow = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    ranges.push_back(*requested_range(log[i], kSize));
    auto secs = [&](std::size_t k) {
      return log[k]["t_end"].get<double>() - log[k]["t_start"].get<double>();
    };
    if (secs(i) > secs(slow)) slow = i;
  }
  // A steal: a request inside the slow request's piece, beyond what it asked for,
  // made while it still ran (so not its own connection's next chunk).
  const std::uint64_t piece_end = ranges[slow].begin + kPiece;
  int steals = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (ranges[i].begin >= ranges[slow].end && ranges[i].begin < piece_end &&
        log[i]["t_start"].get<double>() < log[slow]["t_end"].get<double>()) {
      ++steals;
    }
  }
  EXPECT_GE(steals, 2) << log.size() << " requests";
  EXPECT_LT(took, 2.0);
  EXPECT_EQ(res->bytes_downloaded, kSize);
  // No request was cut short by a steal: every byte was asked for, and sent, once.
  std::sort(ranges.begin(), ranges.end(),
            [](const Requested& a, const Requested& b) { return a.begin < b.begin; });
  std::uint64_t next = 0, sent = 0;
  for (const Requested& q : ranges) {
    EXPECT_EQ(q.begin, next) << "requests overlap or leave a gap";
    next = q.end;
  }
  EXPECT_EQ(next, kSize);
  for (const auto& e : log) sent += e["bytes_sent"].get<std::uint64_t>();
  EXPECT_EQ(sent, kSize);
}

TEST_F(EngineBasics, ManyFilesAtOnce) {
  std::vector<FetchRequest> rs;
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) {
    names.push_back("many/small" + std::to_string(i) + ".bin");
    make_file(names.back(), 1000 + i * 7919);
  }
  names.push_back("many/big0.bin");
  make_file(names.back(), 8 << 20);
  names.push_back("many/big1.bin");
  make_file(names.back(), (6 << 20) + 12345);
  for (const auto& n : names) rs.push_back(request(n));
  auto results = fetch(rs);
  ASSERT_EQ(results.size(), rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) expect_fetched(results[i], rs[i], names[i]);
  EXPECT_GE(requests_for("many/big0.bin").size(), 4u);
}

TEST_F(EngineBasics, OneFailedFileDoesNotStopTheOthers) {
  make_file("ok1.bin", 10'000);
  make_file("ok2.bin", 3 << 20);
  auto missing = request("ok1.bin");
  missing.url = origin_->url("nothing-here.bin");
  auto results = fetch({request("ok1.bin"), missing, request("ok2.bin")});
  expect_fetched(results[0], request("ok1.bin"), "ok1.bin");
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kNotFound);
  expect_fetched(results[2], request("ok2.bin"), "ok2.bin");
}

TEST_F(EngineBasics, ClientErrorsAreFinalAndNamed) {
  make_file("secret/model.bin", 5000);
  struct Case {
    std::string prefix;
    ErrorCode code;
    std::string status;
  };
  for (const Case& c : {Case{"status/401/", ErrorCode::kUnauthorized, "401"},
                        Case{"status/403/", ErrorCode::kForbidden, "403"},
                        Case{"nope/", ErrorCode::kNotFound, "404"}}) {
    origin_->reset();
    auto r = request("secret/model.bin", c.prefix, "token=hunter2");
    r.headers = {"Authorization: Bearer sekrit"};
    auto res = fetch_one(r);
    ASSERT_FALSE(res) << c.prefix;
    EXPECT_EQ(res.error().code, c.code);
    const std::string& m = res.error().message;
    EXPECT_NE(m.find("secret/model.bin"), std::string::npos) << m;
    EXPECT_NE(m.find(c.status), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_EQ(m.find("sekrit"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(origin_->log().size(), 1u) << "a " << c.status << " must not be retried";
  }
}

TEST_F(EngineBasics, ConnectionRefusedGivesUpAfterMaxAttempts) {
  make_file("refused.bin", 1000);
  auto r = request("refused.bin");
  r.url = "http://127.0.0.1:9/refused.bin";  // discard port: nothing listens
  settings_.max_attempts = 3;
  auto res = fetch_one(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kNetwork);
  EXPECT_NE(res.error().message.find("after 3 attempts"), std::string::npos) << res.error().message;
}

TEST_F(EngineBasics, NoSpaceIsReportedAsSuch) {
  make_file("huge.bin", 1000);
  auto r = request("huge.bin");
  r.size = 1ull << 42;  // 4 TiB: more than this disk has
  auto res = fetch_one(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kNoSpace) << res.error().message;
  EXPECT_NE(res.error().message.find(r.part_path.string()), std::string::npos);
  EXPECT_FALSE(modelcache::util::exists(r.part_path));
  EXPECT_TRUE(requests_for("huge.bin").empty());
}

TEST_F(EngineBasics, UnknownSizeIsLearnedFromTheBody) {
  const std::string& data = make_file("unsized.bin", 5'000'000);
  auto r = request("unsized.bin");
  r.size = kUnknownSize;
  // A git blob id needs the size up front: this checks the late start of that hash.
  std::string header = "blob " + std::to_string(data.size());
  header.push_back('\0');
  modelcache::util::Hasher sha1(modelcache::util::HashAlgo::kSha1);
  sha1.update(header);
  sha1.update(data);
  r.expected = modelcache::core::Digest{modelcache::core::DigestAlgo::kGitSha1, sha1.finish_hex()};
  auto res = fetch_one(r);
  expect_fetched(res, r, "unsized.bin");
  EXPECT_EQ(requests_for("unsized.bin").size(), 1u);
}

TEST_F(EngineBasics, EmptyFileAndMd5Digest) {
  make_file("empty.bin", 0);
  auto r = request("empty.bin");
  expect_fetched(fetch_one(r), r, "empty.bin");

  const std::string& data = make_file("md5.bin", 2'000'000);
  auto m = request("md5.bin");
  modelcache::util::Hasher md5(modelcache::util::HashAlgo::kMd5);
  md5.update(data);
  m.expected = modelcache::core::Digest{modelcache::core::DigestAlgo::kMd5, md5.finish_hex()};
  expect_fetched(fetch_one(m), m, "md5.bin");
  m.expected->hex = std::string(32, '0');
  auto bad = fetch_one(m);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("md5 mismatch"), std::string::npos);
}

TEST_F(EngineBasics, ProgressIsThrottledAndComplete) {
  make_file("prog.bin", 8 << 20);
  auto r = request("prog.bin", "slow/", "rate=16777216");  // ~0.5 s per 2 MiB piece
  std::vector<EngineProgress> seen;
  const auto caller = std::this_thread::get_id();
  bool other_thread = false;
  modelcache::transfer::Engine engine(settings_);
  auto start = std::chrono::steady_clock::now();
  auto results = engine.fetch({r}, [&](const EngineProgress& p) {
    seen.push_back(p);
    other_thread |= std::this_thread::get_id() != caller;
  });
  double took = seconds_since(start);
  expect_fetched(results[0], r, "prog.bin");
  ASSERT_GE(seen.size(), 2u);
  EXPECT_FALSE(other_thread);
  EXPECT_LE(static_cast<double>(seen.size()), took * 10 + 3);
  EXPECT_EQ(seen.back().bytes_done, 8u << 20);
  EXPECT_EQ(seen.back().bytes_total, 8u << 20);
  EXPECT_EQ(seen.back().files_done, 1);
  EXPECT_EQ(seen.back().files_total, 1);
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_GE(seen[i].bytes_done, seen[i - 1].bytes_done);
}

TEST_F(EngineBasics, ConcurrentFetchCallsAreIndependent) {
  make_file("conc/a.bin", 5 << 20);
  make_file("conc/b.bin", 3 << 20);
  modelcache::Result<FetchResult> ra, rb;
  auto a = request("conc/a.bin");
  auto b = request("conc/b.bin");
  modelcache::transfer::Engine engine(settings_);
  std::thread t1([&] { ra = engine.fetch({a}).at(0); });
  std::thread t2([&] { rb = engine.fetch({b}).at(0); });
  t1.join();
  t2.join();
  expect_fetched(ra, a, "conc/a.bin");
  expect_fetched(rb, b, "conc/b.bin");
}

TEST_F(EngineBasics, FileUrlsAreCopiedAndChecked) {
  make_file("local dir/w.bin", 3'000'001);
  auto r = request("local dir/w.bin");
  r.url = "file://" + (root_->path() / "local%20dir/w.bin").string();
  expect_fetched(fetch_one(r), r, "local dir/w.bin");

  r.expected->hex = std::string(64, 'f');
  auto bad = fetch_one(r);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kIntegrity);
  EXPECT_FALSE(modelcache::util::exists(r.part_path));

  r.url = "file://" + (root_->path() / "absent.bin").string();
  auto missing = fetch_one(r);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(FileUrl, PathDecoding) {
  using modelcache::transfer::file_url_path;
  EXPECT_EQ(file_url_path("file:///a/b%20c"), std::filesystem::path("/a/b c"));
  EXPECT_EQ(file_url_path("file://localhost/x"), std::filesystem::path("/x"));
  EXPECT_FALSE(file_url_path("file://host/x"));
  EXPECT_FALSE(file_url_path("file:///a%00b"));
  EXPECT_FALSE(file_url_path("http://x/y"));
}

}  // namespace
}  // namespace mctest
