// One pull of the daemon's single-flight (server/pull_through.hpp), run on a
// thread of its own, and its files as they land: every request for that repo
// and revision waits here, for the result or, a streaming GET
// (server/stream_body.hpp), for the bytes of one file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "modelcache/cache.hpp"

namespace modelcache::server {

// What a streaming reader needs of one file.
struct FlightFile {
  FileState state = FileState::kQueued;
  std::uint64_t size = 0;   // 0 while the origin has not said
  std::uint64_t ready = 0;  // bytes from the start that are in `part` in order
  std::filesystem::path part;  // kDownloading: the part file
  std::filesystem::path blob;  // kCommitted: the verified blob
};

class Flight {
 public:
  // The pulling thread: PullOptions::on_files, then the result.
  void on_files(std::span<const FileProgress> files);
  void finish(Result<Snapshot> result);

  // The pull's result, once there.
  Result<Snapshot> wait_result();
  // Waits until `path` changes from `seen` (state or ready bytes), the pull ends,
  // or `timeout` passes; returns the file as it is then (std::nullopt: the pull
  // ended without listing it, or has not listed yet when the timeout passed).
  // `ended` says whether the pull is over.
  std::optional<FlightFile> wait_file(const std::string& path, const std::optional<FlightFile>& seen,
                                      std::chrono::milliseconds timeout, bool& ended);

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, FlightFile> files_;
  std::optional<Result<Snapshot>> result_;
};

}  // namespace modelcache::server
