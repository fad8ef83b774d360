// Hashes a file while it is being written out of order: it follows the
// contiguous written prefix, reading it back from the part file (the bytes are
// still in the page cache, ~11 GB/s, far faster than SHA-256), so the hash runs
// on its own thread and never slows the curl loop, and no full second read is
// needed after the last byte arrives.
//
// sha256 is always computed (blobs are named by it); the origin's digest
// algorithm is computed too when it differs. A git blob id hashes
// "blob <size>\0" before the content, so for a file of unknown size that hash
// starts only once the size is known (it then re-reads from the start).
//
// It also starts the kernel's writeback of written bytes as they arrive, in
// order or not, so that the engine's final fdatasync has little left to wait
// for (on this project's VMs the background flusher alone runs at ~300 MB/s).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/digest.hpp"
#include "modelcache/error.hpp"
#include "transfer/engine.hpp"
#include "transfer/range_set.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::transfer {

struct FileDigests {
  std::string sha256;
  std::optional<core::Digest> origin_algo;  // the expected digest's algorithm, if not sha256
};

// "<label>: sha256 mismatch: expected X, got Y; nothing was stored" (kIntegrity),
// or success when `expected` is absent or matches.
Status check_digests(std::string_view label, const std::optional<core::Digest>& expected,
                     const FileDigests& got);

class HashFollower {
 public:
  // `fd` is duplicated, so the follower may outlive the caller's descriptor.
  // `size` is the final size or kUnknownSize.
  static Result<std::shared_ptr<HashFollower>> create(int fd, const std::filesystem::path& path,
                                                      const std::optional<core::Digest>& expected,
                                                      std::uint64_t size);

  // Any thread: these bytes are in the file now.
  void written(ByteRange range);
  // Any thread: the file is complete at `size` bytes; the digests are final once
  // everything up to there is hashed.
  void seal(std::uint64_t size);

  // Hashing thread only: hashes up to buffer.size() bytes that are ready, or
  // finishes the digests once everything is hashed. Returns true when it did
  // something (call again), false when it waits for more bytes.
  bool catch_up(std::span<char> buffer);
  // Sealed and fully hashed, or failed to read the file.
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Valid once finished().
  const Result<FileDigests>& outcome() const { return outcome_; }
  std::uint64_t hashed() const { return sha_pos_.load(std::memory_order_relaxed); }

 private:
  struct Stream {
    util::Hasher hasher;
    std::uint64_t pos = 0;
  };

  HashFollower(util::UniqueFd fd, std::filesystem::path path, std::optional<core::DigestAlgo> extra,
               std::uint64_t size);
  void finish(Result<FileDigests> outcome);
  void start_writeback(const RangeSet& ranges);

  util::UniqueFd fd_;
  std::filesystem::path path_;
  std::optional<core::DigestAlgo> extra_algo_;

  mutable std::mutex mu_;
  RangeSet written_;     // guarded by mu_
  RangeSet unflushed_;   // guarded by mu_: written, writeback not started yet
  std::uint64_t size_;   // guarded by mu_; kUnknownSize until sealed when not given
  bool sealed_ = false;  // guarded by mu_

  // Touched only by the hashing thread (and read after finished_).
  Stream sha_{util::Hasher(util::HashAlgo::kSha256)};
  std::optional<Stream> extra_;      // created once the size is known
  std::atomic<std::uint64_t> sha_pos_{0};
  std::atomic<bool> finished_{false};
  Result<FileDigests> outcome_;
};

}  // namespace modelcache::transfer
