// Flight (what a streaming GET sees of a pull's files, server/flight.hpp) and
// the bytes a stream may send before its file is verified (server/stream_body.hpp).
#include "server/flight.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "server/stream_body.hpp"

using namespace modelcache;
using namespace modelcache::server;
using namespace std::chrono_literals;

namespace {

FileProgress progress(std::string path, FileState state, std::uint64_t ready, std::uint64_t total) {
  FileProgress f;
  f.path = std::move(path);
  f.state = state;
  f.bytes_ready = ready;
  f.bytes_total = total;
  if (state == FileState::kDownloading) f.part = "/tmp/x.part";
  return f;
}

}  // namespace

TEST(Flight, ReportsReadyBytesNeverBackwards) {
  Flight flight;
  FileProgress files[] = {progress("a.bin", FileState::kDownloading, 100, 1000)};
  flight.on_files(files);
  bool ended = true;
  auto f = flight.wait_file("a.bin", std::nullopt, 0ms, ended);
  ASSERT_TRUE(f);
  EXPECT_FALSE(ended);
  EXPECT_EQ(f->ready, 100u);
  EXPECT_EQ(f->size, 1000u);
  EXPECT_EQ(f->part, "/tmp/x.part");
  files[0].bytes_ready = 50;  // a refetch from scratch: what was reported stays
  flight.on_files(files);
  EXPECT_EQ(flight.wait_file("a.bin", std::nullopt, 0ms, ended)->ready, 100u);
  EXPECT_FALSE(flight.wait_file("other.bin", std::nullopt, 0ms, ended));
}

TEST(Flight, WaiterWakesOnProgressAndOnTheEnd) {
  Flight flight;
  FileProgress first[] = {progress("a.bin", FileState::kDownloading, 10, 1000)};
  flight.on_files(first);
  bool ended = false;
  auto seen = flight.wait_file("a.bin", std::nullopt, 0ms, ended);
  std::thread pull([&] {
    std::this_thread::sleep_for(20ms);
    FileProgress more[] = {progress("a.bin", FileState::kDownloading, 500, 1000)};
    flight.on_files(more);
  });
  auto start = std::chrono::steady_clock::now();
  auto next = flight.wait_file("a.bin", seen, 10s, ended);
  pull.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->ready, 500u);
  EXPECT_FALSE(ended);
  flight.finish(fail(ErrorCode::kIntegrity, "a.bin: sha256 mismatch"));
  flight.wait_file("a.bin", next, 10s, ended);
  EXPECT_TRUE(ended);
  auto result = flight.wait_result();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kIntegrity);
}

TEST(StreamBody, HoldsTheLastByteUntilTheFileIsVerified) {
  FlightFile f;
  f.state = FileState::kDownloading;
  f.ready = 400;
  EXPECT_EQ(sendable_bytes(f, 1000), 400u);
  f.ready = 1000;  // all in and hashed, but not yet checked against the digest
  EXPECT_EQ(sendable_bytes(f, 1000), 999u);
  f.state = FileState::kFailed;
  EXPECT_EQ(sendable_bytes(f, 1000), 999u);
  f.state = FileState::kCommitted;
  EXPECT_EQ(sendable_bytes(f, 1000), 1000u);
  f.state = FileState::kDownloading;
  EXPECT_EQ(sendable_bytes(f, 0), 0u);
}
