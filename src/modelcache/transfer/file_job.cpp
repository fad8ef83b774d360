#include "transfer/file_job.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "net/http_client.hpp"
#include "util/beneath.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::transfer {

namespace {

// Hand bytes to the follower often enough that hashing keeps pace; journal them
// often enough that kill -9 loses at most a few MiB per connection.
constexpr std::uint64_t kReportEvery = 1ull << 20;
constexpr std::uint64_t kJournalEvery = 4ull << 20;

// Which request a journal belongs to. The digest when there is one (URLs of
// signed requests change between runs), else the URL without its query.
std::string fingerprint(const FetchRequest& r) {
  std::string what = r.expected ? r.expected->to_string() : net::redact_url(r.url);
  return util::sha256_hex(what).substr(0, 16);
}

// scheme://host:port, lower case: requests to another origin must not carry
// the credentials that were meant for this one.
std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  return util::to_lower(url.substr(0, scheme_end)) + "://" + net::url_authority(url);
}

// Headers that identify the caller: libcurl strips a custom Authorization (and
// Cookie) only on a redirect it follows itself, so a request we send straight to
// the redirect target must leave them out.
bool is_credential(std::string_view header) {
  std::string name = util::to_lower(util::trim(header.substr(0, header.find(':'))));
  return name == "authorization" || name == "cookie" || name == "proxy-authorization";
}

std::uint64_t piece_len(std::uint64_t size, const core::TransferSettings& s) {
  std::uint64_t min_segment = std::max<std::uint64_t>(s.min_segment_bytes, 64 << 10);
  if (size == kUnknownSize || size < 2 * min_segment) return std::max<std::uint64_t>(size, 1);
  std::uint64_t n =
      std::clamp<std::uint64_t>(size / min_segment, 1, std::max(1, s.max_connections_per_host));
  return (size + n - 1) / n;
}

// Allocating up front turns a full disk into one clear error before any byte is
// fetched, and keeps the file contiguous. Filesystems without fallocate just skip it.
// The free-space check comes first because ext4 fills the disk before a too-large
// fallocate fails, which would hurt every other writer meanwhile.
Status preallocate(int fd, std::uint64_t size, const std::filesystem::path& path) {
  struct statvfs vfs;
  if (::fstatvfs(fd, &vfs) == 0) {
    std::uint64_t avail = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (avail < size) {
      return fail(ErrorCode::kNoSpace,
                  fmt::format("cannot allocate {} for {}: only {} free (free space or set "
                              "MODELCACHE_HOME to a larger disk)",
                              util::format_bytes(size), path.string(), util::format_bytes(avail)));
    }
  }
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return {};
  if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) return {};
  return std::unexpected(util::errno_error("allocate space for", path, errno));
}

}  // namespace

FileJob::FileJob(const FetchRequest& request, std::size_t index,
                 const core::TransferSettings& settings, HashWorker& worker)
    : request_(&request),
      index_(index),
      settings_(&settings),
      worker_(&worker),
      host_(net::url_authority(request.url)) {}

Status FileJob::open(StartMode mode) {
  const FetchRequest& r = *request_;
  close();
  // Size 0 is fetched like an unknown size: one plain GET whose length must be 0.
  const bool known = r.size != kUnknownSize && r.size > 0;
  const JournalHeader header{r.size, fingerprint(r)};
  RangeSet trusted;
  if (mode == StartMode::kResume) trusted = resumable_ranges();
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (trusted.empty() ? O_TRUNC : 0);
  // Never through a symlink planted in tmp/ (created when missing, in the same
  // walk); group-writable in shared mode so another member can resume it (util/beneath.hpp).
  auto part = util::open_beneath(r.part_path, flags, 0644, util::MissingDirs::kCreate);
  if (!part) return std::unexpected(part.error());
  fd_ = std::move(*part);
  if (trusted.empty() && known) {
    if (auto st = preallocate(fd_.get(), r.size, r.part_path); !st) {
      // A failed fallocate may keep what it did allocate: give the space back.
      fd_ = util::UniqueFd();
      (void)util::remove_file(r.part_path);
      return st;
    }
  }

  // An origin that ignores Range gets one plain GET for the whole file.
  plan_.emplace(known ? r.size : kOpenEnd,
                ranges == RangeSupport::kIgnored ? r.size : piece_len(r.size, *settings_));
  auto follower = HashFollower::create(fd_.get(), r.part_path, r.expected, r.size);
  if (!follower) return std::unexpected(follower.error());
  follower_ = std::move(*follower);
  for (const ByteRange& t : trusted.ranges()) {
    plan_->mark_done(t);
    follower_->written(t);
  }
  worker_->follow(follower_);

  if (known) {
    auto journal = Journal::create(r.journal_path, header, trusted);
    if (!journal) return std::unexpected(journal.error());
    journal_.emplace(std::move(*journal));
  } else if (auto st = util::remove_file(r.journal_path); !st) {
    return st;
  }
  resumed = !trusted.empty();
  if (resumed) {
    util::log(util::LogLevel::kInfo, "{}: resuming with {} of {} bytes", r.label, trusted.total(),
              r.size);
  }
  state = JobState::kRunning;
  if (plan_->complete()) seal();
  return {};
}

RangeSet FileJob::resumable_ranges() const {
  const FetchRequest& r = *request_;
  RangeSet trusted;
  if (r.size == kUnknownSize || r.size == 0 || !util::is_regular_file(r.part_path)) return trusted;
  trusted = load_journal(r.journal_path, JournalHeader{r.size, fingerprint(r)});
  auto part_size = util::file_size(r.part_path);
  if (!trusted.empty() && (!part_size || *part_size < trusted.ranges().back().end)) trusted.clear();
  return trusted;
}

void FileJob::suspend() {
  if (plan_) {
    for (const auto& [id, st] : segments_) (void)checkpoint(id, Flush::kNow);
  }
  close();
}

void FileJob::close() {
  if (follower_) worker_->forget(follower_);
  follower_.reset();
  segments_.clear();
  plan_.reset();
  journal_.reset();
  fd_ = util::UniqueFd();
  active_transfers = 0;
}

void FileJob::discard_files() {
  close();
  (void)util::remove_file(request_->part_path);
  (void)util::remove_file(request_->journal_path);
}

SegmentId FileJob::add_segment(SegmentId id) {
  const Segment& s = plan_->segment(id);
  SegmentState st;
  st.reported = s.begin;
  st.journaled = s.begin;
  segments_[id] = st;
  return id;
}

std::optional<RequestedRange> FileJob::request_range(const Segment& s,
                                                     std::uint64_t chunk_len) const {
  // An origin that ignores Range gets plain GETs; the engine skips what it has.
  if (ranges == RangeSupport::kIgnored) return std::nullopt;
  if (s.end == kOpenEnd) {
    if (s.pos == 0) return std::nullopt;
    return RequestedRange{s.pos, std::nullopt};
  }
  // A file small enough to be one piece is one plain GET, as any client does.
  if (s.pos == 0 && s.end == plan_->size()) return std::nullopt;
  chunk_len = std::max<std::uint64_t>(chunk_len, 1);
  std::uint64_t end = s.end;
  if (s.end - s.pos > chunk_len + chunk_len / 2) end = s.pos + chunk_len;
  return RequestedRange{s.pos, end};
}

const std::string& FileJob::url() const {
  return effective_url_.empty() ? request_->url : effective_url_;
}

std::vector<std::string> FileJob::headers() const {
  std::vector<std::string> all = request_->sign ? request_->sign() : request_->headers;
  if (effective_url_.empty() || effective_same_origin_) return all;
  std::erase_if(all, [](const std::string& h) { return is_credential(h); });
  return all;
}

void FileJob::use_effective_url(const std::string& url) {
  if (url.empty() || url == request_->url) return;
  effective_url_ = url;
  effective_same_origin_ = origin_of(url) == origin_of(request_->url);
  host_ = net::url_authority(url);
}

void FileJob::drop_effective_url() {
  effective_url_.clear();
  host_ = net::url_authority(request_->url);
}

void FileJob::on_ranged_response(const std::string& url) {
  ranges = RangeSupport::kYes;
  if (!uses_effective_url()) use_effective_url(url);
}

Status FileJob::on_written(SegmentId id, std::uint64_t n) {
  plan_->advance(id, n);
  bytes_downloaded += n;
  return checkpoint(id, Flush::kIfDue);
}

Status FileJob::checkpoint(SegmentId id, Flush flush) {
  const Segment& s = plan_->segment(id);
  SegmentState& st = segments_.at(id);
  const bool now = flush == Flush::kNow;
  if (s.pos > st.reported && (now || s.pos - st.reported >= kReportEvery)) {
    follower_->written({st.reported, s.pos});
    st.reported = s.pos;
    worker_->notify();
  }
  if (journal_ && s.pos > st.journaled && (now || s.pos - st.journaled >= kJournalEvery)) {
    if (auto r = journal_->append({st.journaled, s.pos}); !r) return r;
    st.journaled = s.pos;
  }
  return {};
}

Status FileJob::retire(SegmentId id) {
  Status st = checkpoint(id, Flush::kNow);
  plan_->retire(id);
  segments_.erase(id);
  return st;
}

void FileJob::seal() {
  follower_->seal(plan_->size());
  state = JobState::kHashing;
  worker_->notify();
}

}  // namespace modelcache::transfer
