// The resume journal: an append-only text file beside the part file that lists
// byte ranges known to be written there.
//
//   modelcache-journal 1 size=<bytes> id=<request fingerprint>\n
//   <begin> <end> <check>\n        (one record per completed range)
//
// A record is appended only after its bytes were pwrite()n, and a record is one
// write(2), so after kill -9 (the page cache survives the process) every record
// names bytes that are really in the part file. No fsync: after a power loss the
// worst case is a journal that trusts zeroed bytes, which the final digest check
// catches (and the engine then refetches from scratch). A torn last record (no
// newline, or a bad check) is ignored; the engine rewrites the journal compactly
// on resume so a new record never lands after a torn one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "transfer/range_set.hpp"
#include "util/fs.hpp"

namespace modelcache::transfer {

struct JournalHeader {
  std::uint64_t size = 0;  // file size the ranges refer to
  std::string id;          // fingerprint of what is fetched; a mismatch means "not ours"
  bool operator==(const JournalHeader&) const = default;
};

// What a journal on disk says, coalesced; empty when it is missing, belongs to a
// different request, or its header is damaged.
RangeSet load_journal(const std::filesystem::path& path, const JournalHeader& expected);

class Journal {
 public:
  // Replaces whatever is at `path` with a journal holding `ranges` (written to a
  // temporary file and renamed, so a crash leaves the old or the new journal).
  static Result<Journal> create(const std::filesystem::path& path, const JournalHeader& header,
                                const RangeSet& ranges);

  Status append(ByteRange range);
  const std::filesystem::path& path() const { return path_; }

 private:
  Journal(std::filesystem::path path, util::UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}

  std::filesystem::path path_;
  util::UniqueFd fd_;
};

}  // namespace modelcache::transfer
