#include "cache/hf_import.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>

#include "store/file_clone.hpp"
#include "store/file_hash.hpp"
#include "store/gc.hpp"
#include "store/lease.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::cache {

namespace {

// Every non-directory under `dir`, as '/'-joined relative paths; symlinks are
// listed, never followed.
void walk(const fs::path& dir, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& name : util::list_dir(dir)) {
    std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::lstat((dir / name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(dir / name, rel, out);
    } else {
      out.push_back(rel);
    }
  }
}

bool inside(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != ".." && rel.is_relative();
}

std::optional<fs::path> real_path(const fs::path& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return std::nullopt;
  return fs::path(buf);
}

struct Adopted {
  std::string sha256;
  std::uint64_t size = 0;
  core::Digest origin;
};

class Importer {
 public:
  Importer(const HfImportRequest& r, fs::path real_root, HfImportReport& report)
      : store_(*r.store), root_(r.dir), real_root_(std::move(real_root)), report_(report) {}

  Status import_repo(const HfRepo& repo);

 private:
  void warn(std::string line) { report_.warnings.push_back(std::move(line)); }
  // The blob a snapshot file links to, adopted into the store; an error says why not.
  Result<Adopted> adopt_file(const fs::path& snap_dir, const std::string& rel);
  Result<Adopted> adopt_blob(const fs::path& blob, std::string_view name);
  Status import_snapshot(const HfRepo& repo, const core::ModelRef& ref, const fs::path& repo_dir,
                         const std::string& commit);
  Status import_refs(const core::ModelRef& ref, const fs::path& repo_dir);

  store::Store& store_;
  fs::path root_;
  fs::path real_root_;
  HfImportReport& report_;
  std::map<fs::path, Result<Adopted>> blobs_;  // by resolved blob path: each read once
  std::set<std::string> published_;
};

Result<Adopted> Importer::adopt_blob(const fs::path& blob, std::string_view name) {
  const bool git = util::is_hex(name, 40);
  if (!git && !util::is_hex(name, 64)) {
    return fail(ErrorCode::kInvalidPath, "blob name is neither a sha256 nor a git sha1");
  }
  if (!git && store_.has_blob(name)) {
    auto size = util::file_size(store_.layout().blob(name));
    if (!size) return std::unexpected(size.error());
    report_.blobs_present++;
    return Adopted{std::string(name), *size, core::Digest{core::DigestAlgo::kSha256, std::string(name)}};
  }
  struct stat st {};
  if (::stat(blob.c_str(), &st) != 0) return std::unexpected(util::errno_error("stat", blob, errno));
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidPath, "not a regular file");
  // A hardlink shares the inode, and commit_blob makes our blobs 0444: only when
  // the user's file is 0444 and ours already does that change nothing of theirs.
  auto hardlink = (st.st_mode & 07777) == 0444 && st.st_uid == ::geteuid() ? store::HardlinkUse::kFirst
                                                                           : store::HardlinkUse::kNever;
  fs::path part = store_.layout().tmp_dir() / ("hf-import-" + util::unique_suffix() + ".part");
  auto made = store::clone_file(blob, part, hardlink);
  if (!made) return std::unexpected(made.error());
  // Hash our own file (not theirs, which may change under us): that is what we commit.
  auto digests = store::hash_file(part, git ? store::GitSha1::kCompute : store::GitSha1::kSkip);
  if (!digests) {
    (void)util::remove_file(part);
    return std::unexpected(digests.error());
  }
  const std::string& actual = git ? digests->git_sha1 : digests->sha256;
  if (actual != name) {
    (void)util::remove_file(part);
    return fail(ErrorCode::kIntegrity, "content hashes to " + actual + ", not its name (corrupt or truncated)");
  }
  const bool present = store_.has_blob(digests->sha256);
  if (auto s = store_.commit_blob(part, digests->sha256); !s) {
    (void)util::remove_file(part);
    return std::unexpected(s.error());
  }
  if (present) {
    report_.blobs_present++;
  } else if (made->method == store::CloneMethod::kCopy) {
    report_.copies++;
    report_.bytes_copied += digests->size;
  } else {
    (made->method == store::CloneMethod::kHardlink ? report_.hardlinks : report_.reflinks)++;
    report_.bytes_linked += digests->size;
  }
  return Adopted{digests->sha256, digests->size,
                 core::Digest{git ? core::DigestAlgo::kGitSha1 : core::DigestAlgo::kSha256, std::string(name)}};
}

Result<Adopted> Importer::adopt_file(const fs::path& snap_dir, const std::string& rel) {
  if (auto s = util::validate_origin_path(rel); !s) return std::unexpected(s.error());
  fs::path link = snap_dir / rel;
  std::error_code ec;
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return fail(ErrorCode::kInvalidPath, "not a symlink into blobs/, so its content cannot be verified");
  fs::path resolved = (target.is_absolute() ? target : link.parent_path() / target).lexically_normal();
  auto real = real_path(resolved);
  if (!inside(resolved, root_) || (real && !inside(*real, real_root_))) {
    return fail(ErrorCode::kInvalidPath, "links to " + target.string() + ", outside " + root_.string() + ": refused");
  }
  if (!real) return fail(ErrorCode::kNotFound, "links to " + target.string() + ", which does not exist");
  auto it = blobs_.find(*real);
  if (it == blobs_.end()) it = blobs_.emplace(*real, adopt_blob(*real, resolved.filename().string())).first;
  if (!it->second) return fail(it->second.error().code, "its blob " + real->string() + ": " + it->second.error().message);
  return it->second;
}

Status Importer::import_snapshot(const HfRepo& repo, const core::ModelRef& ref, const fs::path& repo_dir,
                                 const std::string& commit) {
  const std::string what = repo.ref_text() + "@" + commit;
  const std::string folder = ref.folder_name();
  fs::path snap_dir = HfCacheLayout::snapshot_dir(repo_dir, commit);
  std::vector<std::string> files;
  walk(snap_dir, "", files);
  if (files.empty()) {
    warn(what + ": empty snapshot folder; skipped");
    report_.snapshots_skipped++;
    return {};
  }
  // Lease, then the gc lock (the lock order): blobs we commit stay until linked.
  auto lease = store::Lease::acquire(store_.layout(), folder, commit);
  if (!lease) return std::unexpected(lease.error());
  auto gc_guard = store::hold_off_gc(store_.layout());
  if (!gc_guard) return std::unexpected(gc_guard.error());
  std::vector<store::ManifestEntry> present;
  std::size_t failed = 0;
  for (const auto& rel : files) {
    auto adopted = adopt_file(snap_dir, rel);
    if (!adopted) {
      // A hostile name is not printed (it may hold control characters): its error names it.
      warn((util::validate_origin_path(rel) ? (snap_dir / rel).string() : snap_dir.string()) + ": " +
           adopted.error().message);
      failed++;
      continue;
    }
    present.push_back(store::ManifestEntry{rel, adopted->size, adopted->sha256, adopted->origin, "", ""});
  }
  if (failed) {
    warn(what + ": not imported (" + std::to_string(failed) + " file(s) failed); its good blobs are kept");
    report_.snapshots_skipped++;
    return {};
  }
  auto model_lock = store_.lock_model(folder);
  if (!model_lock) return std::unexpected(model_lock.error());
  store::SnapshotKey key{ref.id(), folder, commit, "hf-cache:" + root_.string()};
  auto listing = present;
  for (auto& e : listing) e.sha256.clear();
  auto manifest = store_.add_to_snapshot(key, listing, present);
  if (!manifest) return std::unexpected(manifest.error());
  report_.snapshots++;
  report_.files += present.size();
  published_.insert(commit);
  return {};
}

Status Importer::import_refs(const core::ModelRef& ref, const fs::path& repo_dir) {
  const std::string folder = ref.folder_name();
  std::vector<std::string> names;
  walk(HfCacheLayout::refs_dir(repo_dir), "", names);
  for (const auto& revision : names) {
    fs::path file = HfCacheLayout::ref_file(repo_dir, revision);
    if (!util::validate_origin_path(revision)) {
      warn(HfCacheLayout::refs_dir(repo_dir).string() + ": a file that is not a revision name; skipped");
      continue;
    }
    struct stat st {};
    auto text = util::read_file(file);
    if (!text || ::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      warn(file.string() + ": cannot be read; skipped");
      continue;
    }
    std::string commit(util::trim(*text));
    if (!published_.contains(commit)) continue;  // snapshot not imported: no ref to it
    // When huggingface_hub last resolved it: MODELCACHE_REF_TTL counts from there.
    std::int64_t resolved_at = std::min<std::int64_t>(st.st_mtim.tv_sec, util::unix_now());
    auto model_lock = store_.lock_model(folder);
    if (!model_lock) return std::unexpected(model_lock.error());
    auto ours = store_.read_ref(folder, revision);
    if (!ours) return std::unexpected(ours.error());
    if (*ours && (*ours)->resolved_at >= resolved_at) continue;  // ours is newer
    if (auto s = store_.write_ref(folder, revision, {commit, resolved_at}); !s) return s;
    report_.refs++;
  }
  return {};
}

Status Importer::import_repo(const HfRepo& repo) {
  fs::path repo_dir = HfCacheLayout(root_).repo_dir(repo);
  if (auto s = util::validate_origin_path(hf_repo_folder(repo)); !s) {
    warn(root_.string() + ": " + s.error().message + "; skipped");
    return {};
  }
  auto ref = core::parse_ref(repo.ref_text());
  if (!ref) {
    warn(repo_dir.string() + ": " + ref.error().message + "; skipped");
    return {};
  }
  report_.repos++;
  for (const auto& commit : util::list_dir(HfCacheLayout::snapshots_dir(repo_dir))) {
    if (!core::is_commit_hash(commit)) {
      bool printable = static_cast<bool>(util::validate_origin_path(commit));
      warn((HfCacheLayout::snapshots_dir(repo_dir) / (printable ? commit : "")).string() +
           (printable ? ": not a 40-hex commit; skipped" : ": an entry that is not a 40-hex commit; skipped"));
      report_.snapshots_skipped++;
      continue;
    }
    if (auto s = import_snapshot(repo, *ref, repo_dir, commit); !s) return s;
  }
  return import_refs(*ref, repo_dir);
}

}  // namespace

Result<HfImportReport> import_from_hf_cache(const HfImportRequest& r) {
  auto real_root = real_path(r.dir);
  struct stat st {};
  if (!real_root || ::stat(real_root->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kNotFound, r.dir.string() + " is not a directory: give the Hugging Face cache "
                                                       "folder (--hf-cache DIR, or set HF_HUB_CACHE / HF_HOME)");
  }
  HfImportReport report;
  std::vector<HfRepo> repos;
  if (r.repos.empty()) {
    for (const auto& name : util::list_dir(r.dir)) {
      if (auto repo = parse_hf_repo_folder(name)) repos.push_back(*repo);
    }
  } else {
    for (const auto& arg : r.repos) {
      auto repo = parse_hf_repo_arg(arg);
      if (!repo) return fail(ErrorCode::kInvalidArgument, "'" + arg + "' is not ORG/NAME (or datasets/ORG/NAME)");
      if (!util::exists(HfCacheLayout(r.dir).repo_dir(*repo))) {
        report.warnings.push_back(arg + ": no " + hf_repo_folder(*repo) + " in " + r.dir.string() + "; skipped");
        continue;
      }
      repos.push_back(*repo);
    }
  }
  Importer importer(r, *real_root, report);
  for (const auto& repo : repos) {
    if (auto s = importer.import_repo(repo); !s) return std::unexpected(s.error());
  }
  return report;
}

}  // namespace modelcache::cache
