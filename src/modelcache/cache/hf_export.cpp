#include "cache/hf_export.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "store/file_clone.hpp"
#include "store/file_hash.hpp"
#include "util/atomic_file.hpp"
#include "util/beneath.hpp"
#include "util/fs.hpp"
#include "util/path_check.hpp"

namespace modelcache::cache {

namespace {

// The Hub keeps files of 10 MiB and more in LFS; for origins that do not say,
// that is where huggingface_hub would find a sha256 name rather than a git one.
constexpr std::uint64_t kLfsSize = 10ull << 20;

struct BlobName {
  std::string name;
  bool git = false;  // a git blob sha1, else a sha256
};

Result<BlobName> hf_blob_name(const store::Store& store, const store::ManifestEntry& entry) {
  if (entry.origin_digest && entry.origin_digest->algo == core::DigestAlgo::kGitSha1) {
    return BlobName{entry.origin_digest->hex, true};
  }
  if (entry.origin_digest && entry.origin_digest->algo == core::DigestAlgo::kSha256) {
    return BlobName{entry.sha256, false};
  }
  if (entry.size >= kLfsSize) return BlobName{entry.sha256, false};
  auto digests = store::hash_file(store.layout().blob(entry.sha256), store::GitSha1::kCompute);
  if (!digests) return std::unexpected(digests.error());
  if (digests->sha256 != entry.sha256) {
    return fail(ErrorCode::kIo, "blob " + entry.sha256 + " (" + entry.path +
                                    ") is corrupt in the cache; run `modelcache verify --repair` and pull again");
  }
  return BlobName{digests->git_sha1, true};
}

// An existing HF blob is fine when it is our blob (same inode) or hashes to its name.
Result<bool> existing_blob_ok(const fs::path& hf_blob, const fs::path& ours, const BlobName& name,
                              std::uint64_t size) {
  struct stat theirs {}, mine {};
  if (::lstat(hf_blob.c_str(), &theirs) != 0) {
    if (errno == ENOENT) return false;
    return std::unexpected(util::errno_error("stat", hf_blob, errno));
  }
  auto wrong = [&](const std::string& why) {
    return fail(ErrorCode::kIo, hf_blob.string() + " already exists and " + why +
                                    ": it is not overwritten; remove it and run export again");
  };
  if (!S_ISREG(theirs.st_mode)) return wrong("is not a regular file");
  if (::stat(ours.c_str(), &mine) == 0 && mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) {
    return true;
  }
  if (static_cast<std::uint64_t>(theirs.st_size) != size) {
    return wrong("has " + std::to_string(theirs.st_size) + " bytes, not " + std::to_string(size));
  }
  auto digests = store::hash_file(hf_blob, name.git ? store::GitSha1::kCompute : store::GitSha1::kSkip);
  if (!digests) return std::unexpected(digests.error());
  if ((name.git ? digests->git_sha1 : digests->sha256) != name.name) {
    return wrong("its content does not match its name");
  }
  return true;
}

Status write_link(const fs::path& link, const std::string& target) {
  std::error_code ec;
  fs::path current = fs::read_symlink(link, ec);
  if (!ec) {
    if (current == target) return {};
    return fail(ErrorCode::kIo, link.string() + " already exists and links to " + current.string() +
                                    ", not " + target + "; remove it and run export again");
  }
  if (util::exists(link)) {
    return fail(ErrorCode::kIo, link.string() + " already exists and is not a link; remove it and run export again");
  }
  if (auto s = util::make_dirs(link.parent_path()); !s) return s;
  return util::replace_symlink(target, link);
}

Result<HfRepo> target_repo(const HfExportRequest& r) {
  if (r.repo_id) {
    auto repo = parse_hf_repo_arg(*r.repo_id);
    if (!repo) return fail(ErrorCode::kInvalidArgument, "--repo-id '" + *r.repo_id + "' is not ORG/NAME (or datasets/ORG/NAME)");
    return *repo;
  }
  if (r.ref.kind != core::RefKind::kHuggingFace) {
    return fail(ErrorCode::kInvalidArgument,
                r.ref.id() + " is not a Hugging Face repo: name the repo to write with --repo-id ORG/NAME");
  }
  return HfRepo{r.ref.repo_type, r.ref.repo};
}

}  // namespace

Result<HfExportReport> export_to_hf_cache(const HfExportRequest& r) {
  const store::Store& store = *r.store;
  const Snapshot& snap = *r.snapshot;
  auto repo = target_repo(r);
  if (!repo) return std::unexpected(repo.error());
  if (!core::is_commit_hash(snap.snapshot_id)) {
    return fail(ErrorCode::kInvalidArgument,
                r.ref.id() + " has snapshot id " + snap.snapshot_id +
                    ", not a 40-hex commit, so it cannot be a Hugging Face snapshot; export a bucket or Hub ref");
  }
  if (auto s = util::validate_origin_path(hf_repo_folder(*repo)); !s) return std::unexpected(s.error());
  auto manifest = store.read_manifest(r.ref.folder_name(), snap.snapshot_id);
  if (!manifest) return std::unexpected(manifest.error());
  if (!*manifest) return fail(ErrorCode::kNotCached, r.ref.id() + " is not in the cache; run `modelcache pull` first");

  HfCacheLayout hf(r.dir);
  HfExportReport report;
  report.repo_dir = hf.repo_dir(*repo);
  report.commit = snap.snapshot_id;
  report.snapshot_dir = HfCacheLayout::snapshot_dir(report.repo_dir, report.commit);
  if (auto s = util::make_dirs(HfCacheLayout::blobs_dir(report.repo_dir)); !s) return std::unexpected(s.error());

  // Blobs first: every one in place before any link names it.
  std::map<std::string, std::string> name_of_path;
  std::set<std::string> done;  // HF blob names handled
  for (const auto& file : snap.files) {
    const auto* entry = (*manifest)->find(file.path);
    if (!entry || entry->sha256.empty()) {
      return fail(ErrorCode::kNotCached, r.ref.id() + ": " + file.path + " is not in the cache; run `modelcache pull` first");
    }
    if (auto s = util::validate_origin_path(file.path); !s) return std::unexpected(s.error());
    auto name = hf_blob_name(store, *entry);
    if (!name) return std::unexpected(name.error());
    name_of_path[file.path] = name->name;
    report.files++;
    report.bytes += entry->size;
    if (!done.insert(name->name).second) continue;
    fs::path ours = store.layout().blob(entry->sha256);
    fs::path theirs = HfCacheLayout::blob(report.repo_dir, name->name);
    auto ok = existing_blob_ok(theirs, ours, *name, entry->size);
    if (!ok) return std::unexpected(ok.error());
    if (*ok) {
      report.blobs_present++;
      continue;
    }
    auto made = store::clone_file(ours, theirs, store::HardlinkUse::kFirst);
    if (!made) return std::unexpected(made.error());
    switch (made->method) {
      case store::CloneMethod::kHardlink: report.hardlinks++; break;
      case store::CloneMethod::kReflink: report.reflinks++; break;
      case store::CloneMethod::kCopy: report.copies++; break;
    }
    report.bytes_duplicated += made->bytes_copied;
  }
  for (const auto& [path, name] : name_of_path) {
    if (auto s = write_link(report.snapshot_dir / path, HfCacheLayout::link_target(path, name)); !s) {
      return std::unexpected(s.error());
    }
  }
  // A named revision (not a commit) gets its ref, as huggingface_hub writes it.
  if (r.ref.kind == core::RefKind::kHuggingFace && !core::is_commit_hash(r.ref.revision) &&
      !r.ref.revision.empty()) {
    if (auto s = util::validate_origin_path(r.ref.revision); !s) return std::unexpected(s.error());
    fs::path ref = HfCacheLayout::ref_file(report.repo_dir, r.ref.revision);
    auto current = util::read_file(ref);
    if (!current || *current != report.commit) {
      if (auto s = util::make_dirs(ref.parent_path()); !s) return std::unexpected(s.error());
      if (auto s = util::write_file_atomic(ref, report.commit); !s) return std::unexpected(s.error());
    }
    report.revision = r.ref.revision;
  }
  return report;
}

}  // namespace modelcache::cache
