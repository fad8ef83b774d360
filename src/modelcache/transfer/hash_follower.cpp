#include "transfer/hash_follower.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace modelcache::transfer {

namespace {

const char* algo_name(core::DigestAlgo algo) {
  switch (algo) {
    case core::DigestAlgo::kSha256:
      return "sha256";
    case core::DigestAlgo::kGitSha1:
      return "gitsha1";
    case core::DigestAlgo::kMd5:
      return "md5";
    case core::DigestAlgo::kCrc32c:
      return "crc32c";
  }
  return "digest";
}

util::HashAlgo hash_algo(core::DigestAlgo algo) {
  switch (algo) {
    case core::DigestAlgo::kGitSha1:
      return util::HashAlgo::kSha1;
    case core::DigestAlgo::kMd5:
      return util::HashAlgo::kMd5;
    case core::DigestAlgo::kCrc32c:
      return util::HashAlgo::kCrc32c;
    case core::DigestAlgo::kSha256:
      break;
  }
  return util::HashAlgo::kSha256;
}

}  // namespace

Status check_digests(std::string_view label, const std::optional<core::Digest>& expected,
                     const FileDigests& got) {
  if (!expected) return {};
  const std::string* actual = &got.sha256;
  if (expected->algo != core::DigestAlgo::kSha256) {
    if (!got.origin_algo) {
      return fail(ErrorCode::kInternal,
                  fmt::format("{}: {} was not computed", label, algo_name(expected->algo)));
    }
    actual = &got.origin_algo->hex;
  }
  if (*actual == expected->hex) return {};
  return fail(ErrorCode::kIntegrity,
              fmt::format("{}: {} mismatch: expected {}, got {}; nothing was stored", label,
                          algo_name(expected->algo), expected->hex, *actual));
}

Result<std::shared_ptr<HashFollower>> HashFollower::create(
    int fd, const std::filesystem::path& path, const std::optional<core::Digest>& expected,
    std::uint64_t size) {
  util::UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!own) return std::unexpected(util::errno_error("duplicate descriptor of", path, errno));
  std::optional<core::DigestAlgo> extra;
  if (expected && expected->algo != core::DigestAlgo::kSha256) extra = expected->algo;
  return std::shared_ptr<HashFollower>(new HashFollower(std::move(own), path, extra, size));
}

HashFollower::HashFollower(util::UniqueFd fd, std::filesystem::path path,
                           std::optional<core::DigestAlgo> extra, std::uint64_t size)
    : fd_(std::move(fd)), path_(std::move(path)), extra_algo_(extra), size_(size) {}

void HashFollower::written(ByteRange range) {
  std::lock_guard lock(mu_);
  written_.add(range);
  unflushed_.add(range);
}

void HashFollower::seal(std::uint64_t size) {
  std::lock_guard lock(mu_);
  size_ = size;
  sealed_ = true;
}

void HashFollower::start_writeback(const RangeSet& ranges) {
  // Written bytes are final (a range is written once): ask the kernel to start
  // writing them now, so the fdatasync after the last byte waits for the tail
  // only instead of the whole file. Not only behind the hash cursor: the pieces
  // after the first arrive long before the cursor reaches them. A hint: errors
  // surface at that fdatasync.
  for (const ByteRange& r : ranges.ranges()) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(r.begin), static_cast<off_t>(r.end - r.begin),
                      SYNC_FILE_RANGE_WRITE);
  }
}

void HashFollower::finish(Result<FileDigests> outcome) {
  outcome_ = std::move(outcome);
  finished_.store(true, std::memory_order_release);
}

bool HashFollower::catch_up(std::span<char> buffer) {
  if (finished()) return false;
  constexpr std::uint64_t kWritebackEvery = 16ull << 20;
  std::uint64_t ready = 0, size = 0;
  bool sealed = false;
  RangeSet to_write_back;
  {
    std::lock_guard lock(mu_);
    ready = written_.contiguous_end(0);
    size = size_;
    sealed = sealed_;
    if (unflushed_.total() >= kWritebackEvery) std::swap(to_write_back, unflushed_);
  }
  start_writeback(to_write_back);
  if (size != kUnknownSize) ready = std::min(ready, size);
  if (extra_algo_ && !extra_ && size != kUnknownSize) {
    extra_.emplace(Stream{*extra_algo_ == core::DigestAlgo::kGitSha1
                              ? util::git_blob_hasher(size)
                              : util::Hasher(hash_algo(*extra_algo_))});
  }
  // Both hashes read the same bytes once when they are level; a late-started git
  // blob id catches up on its own until it is level again.
  std::uint64_t lo = extra_ ? std::min(sha_.pos, extra_->pos) : sha_.pos;
  if (lo < ready) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), ready - lo));
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_.get(), buffer.data() + got, n - got, static_cast<off_t>(lo + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        finish(r < 0 ? std::unexpected(util::errno_error("read back", path_, errno))
                     : fail(ErrorCode::kIo, fmt::format("cannot read back {}: file is shorter "
                                                        "than the bytes written to it",
                                                        path_.string())));
        return true;
      }
      got += static_cast<std::size_t>(r);
    }
    for (Stream* s : {&sha_, extra_ ? &*extra_ : nullptr}) {
      if (s && s->pos == lo) {
        s->hasher.update(buffer.data(), n);
        s->pos += n;
      }
    }
    sha_pos_.store(sha_.pos, std::memory_order_relaxed);
    return true;
  }
  bool level = sha_.pos == size && (!extra_algo_ || (extra_ && extra_->pos == size));
  if (!sealed || !level) return false;
  FileDigests digests{sha_.hasher.finish_hex(), std::nullopt};
  if (extra_) digests.origin_algo = core::Digest{*extra_algo_, extra_->hasher.finish_hex()};
  finish(std::move(digests));
  return true;
}

}  // namespace modelcache::transfer
