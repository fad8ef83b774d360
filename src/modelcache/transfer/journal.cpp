#include "transfer/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "util/beneath.hpp"

namespace modelcache::transfer {

namespace {

constexpr std::string_view kMagic = "modelcache-journal 1";

// Detects torn or garbled records; not a defence against deliberate edits.
std::uint32_t record_check(std::uint64_t begin, std::uint64_t end) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the 16 bytes
  for (std::uint64_t v : {begin, end}) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::string header_line(const JournalHeader& h) {
  return fmt::format("{} size={} id={}\n", kMagic, h.size, h.id);
}

std::string record_line(ByteRange r) {
  return fmt::format("{} {} {:08x}\n", r.begin, r.end, record_check(r.begin, r.end));
}

bool parse_u64(std::string_view s, int base, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// "<begin> <end> <check>" -> range, or empty on any damage.
ByteRange parse_record(std::string_view line, std::uint64_t size) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return {};
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return {};
  std::uint64_t begin = 0, end = 0, check = 0;
  if (!parse_u64(line.substr(0, sp1), 10, begin) ||
      !parse_u64(line.substr(sp1 + 1, sp2 - sp1 - 1), 10, end) ||
      !parse_u64(line.substr(sp2 + 1), 16, check)) {
    return {};
  }
  if (check != record_check(begin, end) || begin >= end || end > size) return {};
  return {begin, end};
}

}  // namespace

RangeSet load_journal(const std::filesystem::path& path, const JournalHeader& expected) {
  RangeSet out;
  auto text = util::read_file(path);
  if (!text) return out;
  std::string_view rest = *text;
  auto nl = rest.find('\n');
  if (nl == std::string_view::npos || rest.substr(0, nl + 1) != header_line(expected)) return out;
  rest.remove_prefix(nl + 1);
  while ((nl = rest.find('\n')) != std::string_view::npos) {
    ByteRange r = parse_record(rest.substr(0, nl), expected.size);
    // A damaged record in the middle should not happen; trust nothing after it.
    if (r.empty()) break;
    out.add(r);
    rest.remove_prefix(nl + 1);
  }
  return out;
}

Result<Journal> Journal::create(const std::filesystem::path& path, const JournalHeader& header,
                                const RangeSet& ranges) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + util::unique_suffix();
  std::string text = header_line(header);
  for (const ByteRange& r : ranges.ranges()) text += record_line(r);
  {
    // Never through a symlink planted in tmp/ (util/beneath.hpp).
    auto fd = util::open_beneath(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!fd) return std::unexpected(fd.error());
    if (auto st = util::write_all(fd->get(), text.data(), text.size(), tmp); !st) {
      (void)util::remove_file(tmp);
      return std::unexpected(st.error());
    }
  }
  if (auto st = util::rename_path(tmp, path); !st) {
    (void)util::remove_file(tmp);
    return std::unexpected(st.error());
  }
  auto fd = util::open_beneath(path, O_WRONLY | O_APPEND);
  if (!fd) return std::unexpected(fd.error());
  return Journal(path, std::move(*fd));
}

Status Journal::append(ByteRange range) {
  if (range.empty()) return {};
  std::string line = record_line(range);
  return util::write_all(fd_.get(), line.data(), line.size(), path_);
}

}  // namespace modelcache::transfer
