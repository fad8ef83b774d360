#include "transfer/local_copy.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "transfer/hash_follower.hpp"
#include "transfer/response_check.hpp"
#include "util/beneath.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::transfer {

namespace {

constexpr std::size_t kCopyChunk = 1 << 20;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::unexpected<Error> fail_and_discard(const FetchRequest& r, Error error) {
  (void)util::remove_file(r.part_path);
  (void)util::remove_file(r.journal_path);
  return std::unexpected(std::move(error));
}

}  // namespace

bool is_file_url(std::string_view url) {
  return url.size() >= 7 && util::iequals(url.substr(0, 7), "file://");
}

std::optional<std::filesystem::path> file_url_path(std::string_view url) {
  if (!is_file_url(url)) return std::nullopt;
  std::string_view rest = url.substr(7);
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with('/')) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '?' || rest[i] == '#') break;
    if (rest[i] == '%' && i + 2 < rest.size()) {
      int hi = hex_value(rest[i + 1]), lo = hex_value(rest[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      out += c;
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return std::filesystem::path(out);
}

Result<FetchResult> local_copy(const FetchRequest& r,
                               const std::function<void(std::uint64_t)>& on_bytes) {
  auto source = file_url_path(r.url);
  if (!source)
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: not a local file URL", r.label));
  util::UniqueFd in(::open(source->c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    Error e = util::errno_error("open", *source, errno);
    if (errno == ENOENT) e.code = ErrorCode::kNotFound;
    return std::unexpected(std::move(e));
  }
  // Never through a symlink planted in tmp/, which is created when missing in
  // the same walk (util/beneath.hpp).
  auto part = util::open_beneath(r.part_path, O_RDWR | O_CREAT | O_TRUNC, 0644, util::MissingDirs::kCreate);
  if (!part) return std::unexpected(part.error());
  util::UniqueFd out = std::move(*part);
  // A copy is cheap to redo; a journal from an earlier download does not apply.
  (void)util::remove_file(r.journal_path);

  auto follower = HashFollower::create(out.get(), r.part_path, r.expected, r.size);
  if (!follower) return std::unexpected(follower.error());
  std::vector<char> buffer(kCopyChunk), hash_buffer(kCopyChunk);
  std::uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_and_discard(r, util::errno_error("read", *source, errno));
    if (n == 0) break;
    if (auto st = util::pwrite_all(out.get(), buffer.data(), static_cast<std::size_t>(n), size,
                                   r.part_path);
        !st) {
      return fail_and_discard(r, st.error());
    }
    (*follower)->written({size, size + static_cast<std::uint64_t>(n)});
    size += static_cast<std::uint64_t>(n);
    while ((*follower)->catch_up(hash_buffer)) {
    }
    if (on_bytes) on_bytes(static_cast<std::uint64_t>(n));
  }
  if (r.size != kUnknownSize && size != r.size) {
    return fail_and_discard(r, size_mismatch(r.label, r.size, size));
  }
  (*follower)->seal(size);
  while ((*follower)->catch_up(hash_buffer)) {
  }
  const auto& digests = (*follower)->outcome();
  if (!digests) return fail_and_discard(r, digests.error());
  if (auto st = check_digests(r.label, r.expected, *digests); !st) {
    return fail_and_discard(r, st.error());
  }
  if (auto st = util::fsync_fd(out.get(), r.part_path); !st) return std::unexpected(st.error());
  return FetchResult{digests->sha256, size, size, ""};
}

}  // namespace modelcache::transfer
