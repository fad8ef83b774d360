// Cache: the orchestrator. Local store first; the origin only when the store
// cannot answer. See doc/ARCHITECTURE.md, "Data path".
#include "modelcache/cache.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cache/blob_fetcher.hpp"
#include "cache/package_pull.hpp"
#include "cache/selection.hpp"
#include "core/config.hpp"
#include "core/model_ref.hpp"
#include "net/http_client.hpp"
#include "source/source.hpp"
#include "store/gc.hpp"
#include "store/lease.hpp"
#include "store/store.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/path_check.hpp"

namespace modelcache {

namespace {

using Clock = std::chrono::steady_clock;

// Name of the ref file for a reference: the Hub revision, or "latest" for
// origins without revisions (a URL, a bucket prefix).
std::string ref_name(const core::ModelRef& ref) {
  return ref.kind == core::RefKind::kHuggingFace ? ref.revision : std::string("latest");
}

// A revision that never moves: a Hub commit, or a bucket ref pinned to a snapshot id.
bool is_pinned(const core::ModelRef& ref) {
  return (ref.kind == core::RefKind::kHuggingFace || ref.is_bucket()) &&
         core::is_commit_hash(ref.revision);
}

Snapshot make_snapshot(const store::Store& store, const core::ModelRef& ref,
                       const store::Manifest& manifest, const cache::SelectionRules& rules) {
  Snapshot s;
  s.path = store.layout().snapshot_dir(ref.folder_name(), manifest.snapshot_id);
  s.model = ref.id();
  s.snapshot_id = manifest.snapshot_id;
  s.revision = ref.revision;
  for (const auto& f : manifest.files) {
    if (!cache::selects(rules, f.path)) continue;
    s.files.push_back(SnapshotFile{f.path, f.size, f.sha256});
    s.bytes_total += f.size;
  }
  return s;
}

// Paths of the selected files the snapshot does not have (or whose blob is gone).
std::vector<std::string> missing_files(const store::Store& store, const store::Manifest& manifest,
                                       const cache::SelectionRules& rules) {
  std::vector<std::string> missing;
  for (const auto& f : manifest.files) {
    if (!cache::selects(rules, f.path)) continue;
    if (f.sha256.empty() || !store.has_blob(f.sha256)) missing.push_back(f.path);
  }
  return missing;
}

// True when `manifest` already records every listed file and links every present
// one to the same blob: publishing again would change nothing.
bool manifest_covers(const store::Manifest& manifest, const std::vector<store::ManifestEntry>& listed,
                     const std::vector<store::ManifestEntry>& present) {
  for (const auto& e : listed) {
    if (!manifest.find(e.path)) return false;
  }
  for (const auto& e : present) {
    const auto* m = manifest.find(e.path);
    if (!m || m->sha256 != e.sha256) return false;
  }
  return true;
}

Error cancelled(const core::ModelRef& ref) {
  return Error{ErrorCode::kCancelled,
               ref.display() + ": cancelled; nothing was published, and the next pull resumes the "
                              "downloads"};
}

std::string name_some(const std::vector<std::string>& paths) {
  std::string out;
  for (std::size_t i = 0; i < paths.size() && i < 5; ++i) out += (i ? ", " : "") + paths[i];
  if (paths.size() > 5) out += " and " + std::to_string(paths.size() - 5) + " more";
  return out;
}

}  // namespace

struct Cache::Impl {
  core::Config config;
  store::Store store;

  enum class RefUse { kFresh, kAnyAge };

  // The snapshot id the store can answer with, without the network.
  std::optional<std::string> local_snapshot_id(const core::ModelRef& ref, RefUse use) const {
    if (is_pinned(ref)) return ref.revision;
    auto rec = store.read_ref(ref.folder_name(), ref_name(ref));
    if (!rec || !*rec) return std::nullopt;
    auto age = util::unix_now() - (*rec)->resolved_at;
    if (use == RefUse::kFresh && (age < 0 || age >= config.ref_ttl.count())) return std::nullopt;
    return (*rec)->snapshot_id;
  }

  // Full answer from the store, or why not: kNotCached/kOffline with what is missing.
  // `expected`: answer only if the ref (still) names this snapshot.
  Result<Snapshot> from_store(const core::ModelRef& ref, const cache::SelectionRules& rules,
                              RefUse use, ErrorCode miss_code,
                              std::optional<std::string_view> expected = std::nullopt) const {
    std::string what = ref.display();
    auto id = local_snapshot_id(ref, use);
    if (!id) return fail(miss_code, what + " is not in the cache");
    if (expected && *id != *expected) return fail(miss_code, what + " must be resolved again");
    // Leased before reading: gc either removed it already (no manifest) or keeps it.
    auto lease = store::Lease::acquire(store.layout(), ref.folder_name(), *id);
    if (!lease) return std::unexpected(lease.error());
    auto manifest = store.read_manifest(ref.folder_name(), *id);
    if (!manifest) return std::unexpected(manifest.error());
    if (!*manifest) return fail(miss_code, what + " (snapshot " + *id + ") is not in the cache");
    bool any = false;
    for (const auto& f : (*manifest)->files) any = any || cache::selects(rules, f.path);
    if (!any && rules.empty == cache::EmptySelection::kError) {
      return fail(ErrorCode::kEntryNotFound, "no file of " + what + " matches " + cache::describe_rules(rules));
    }
    auto missing = missing_files(store, **manifest, rules);
    if (!missing.empty()) {
      return fail(miss_code, what + " is missing " + std::to_string(missing.size()) +
                                 " file(s) in the cache: " + name_some(missing));
    }
    Snapshot snap = make_snapshot(store, ref, **manifest, rules);
    snap.lease = std::make_shared<store::Lease>(std::move(*lease));
    return snap;
  }

  // What the origin answered; its source stays alive with it, because the files'
  // `sign` callbacks may need it during the download.
  struct OriginListing {
    std::unique_ptr<source::Source> source;
    source::Listing listing;
  };

  Result<OriginListing> list_origin(const core::ModelRef& ref, const PullOptions& options) const {
    auto src = source::make_source(ref, config);
    if (!src) return std::unexpected(src.error());
    source::ListOptions list_options;
    list_options.token = options.token ? options.token : config.hf_token;
    list_options.secret = options.secret;
    auto listing = (*src)->list(ref, list_options);
    if (!listing) return std::unexpected(listing.error());
    return OriginListing{std::move(*src), std::move(*listing)};
  }

  // `asked_origin`: set when the store could not answer and the origin was asked (only
  // then may the store have grown, so only then does MODELCACHE_MAX_SIZE run).
  // `origin`: when given, a listing it holds is used instead of asking the origin,
  // and one this pull makes is kept there (a package pull's two steps list once).
  Result<Snapshot> pull(const core::ModelRef& ref, const PullOptions& options,
                        const cache::SelectionRules& rules, bool& asked_origin,
                        std::optional<OriginListing>* origin = nullptr) {
    auto started = Clock::now();
    NetworkMode network = options.network.value_or(config.network);
    if (network == NetworkMode::kOffline) {
      auto s = from_store(ref, rules, RefUse::kAnyAge, ErrorCode::kOffline);
      if (!s && s.error().code == ErrorCode::kOffline) {
        s.error().message += " (offline mode: --offline, MODELCACHE_OFFLINE or HF_HUB_OFFLINE is set)";
      }
      return s;
    }
    if (ref.kind != core::RefKind::kFile) {
      if (auto s = from_store(ref, rules, RefUse::kFresh, ErrorCode::kNotCached)) return s;
    }

    if (options.stop.stop_requested()) return std::unexpected(cancelled(ref));
    asked_origin = true;
    std::optional<OriginListing> own;
    if (!origin) origin = &own;
    if (!*origin) {
      auto listed = list_origin(ref, options);
      if (!listed) return std::unexpected(listed.error());
      *origin = std::move(*listed);
    }
    const source::Listing* listing = &(*origin)->listing;
    if (ref.is_bucket() && is_pinned(ref) && listing->snapshot_id != ref.revision) {
      return fail(ErrorCode::kRevisionNotFound,
                  fmt::format("{} no longer has snapshot {} (its objects changed; it is now {}): "
                              "pull without the pin, or run `modelcache lock` again",
                              ref.id(), ref.revision, listing->snapshot_id));
    }
    auto selected = cache::select_files(listing->files, rules, ref.display());
    if (!selected) return std::unexpected(selected.error());
    if (options.stop.stop_requested()) return std::unexpected(cancelled(ref));

    const std::string folder = ref.folder_name();
    // The lease keeps gc off this snapshot; holding off gc keeps the blobs this
    // pull finds present or commits until they are linked (store/gc.hpp).
    auto lease = store::Lease::acquire(store.layout(), folder, listing->snapshot_id);
    if (!lease) return std::unexpected(lease.error());
    auto gc_guard = store::hold_off_gc(store.layout());
    if (!gc_guard) return std::unexpected(gc_guard.error());
    auto previous = store.read_manifest(folder, listing->snapshot_id);
    if (!previous) return std::unexpected(previous.error());

    cache::BlobFetcher fetcher(store, config.transfer);
    std::vector<const source::RemoteFile*> wanted;
    for (std::size_t i : *selected) wanted.push_back(&listing->files[i]);
    auto fetched = fetcher.fetch(wanted, cache::BlobHooks{options.on_progress, options.on_files, options.stop,
                                                       options.first});
    // Blobs committed before the stop stay (content-addressed, they change no
    // snapshot); the snapshot, manifest and ref are not touched.
    if (options.stop.stop_requested()) return std::unexpected(cancelled(ref));

    std::vector<store::ManifestEntry> listed, present;
    for (const auto& f : listing->files) {
      if (util::validate_origin_path(f.path)) {
        listed.push_back(store::ManifestEntry{f.path, f.size == source::kUnknownSize ? 0 : f.size,
                                              "", f.digest, f.etag, f.last_modified});
      }
    }
    std::vector<std::string> failures;
    Error first_error;
    std::uint64_t downloaded = 0;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (!fetched[i]) {
        if (failures.empty()) first_error = fetched[i].error();
        failures.push_back(wanted[i]->path);
        continue;
      }
      const auto& f = *wanted[i];
      downloaded += fetched[i]->bytes_downloaded;
      present.push_back(store::ManifestEntry{f.path, fetched[i]->size, fetched[i]->sha256, f.digest,
                                             f.etag.empty() ? fetched[i]->etag : f.etag,
                                             f.last_modified});
    }
    if (!failures.empty()) {
      // Blobs that did arrive stay in the store (the next pull will not fetch them
      // again), but no snapshot names a set that is not whole.
      if (failures.size() > 1) {
        first_error.message += " (and " + std::to_string(failures.size() - 1) + " more file(s) failed)";
      }
      return std::unexpected(first_error);
    }

    store::SnapshotKey key{ref.id(), folder, listing->snapshot_id, net::redact_url(ref.kind == core::RefKind::kHuggingFace ? config.hf_endpoint : ref.repo)};
    auto model_lock = store.lock_model(folder);
    if (!model_lock) return std::unexpected(model_lock.error());
    store::Manifest manifest;
    if (*previous && manifest_covers(**previous, listed, present)) {
      manifest = std::move(**previous);  // nothing new: no rewrite, no fsync
    } else {
      auto updated = store.add_to_snapshot(key, listed, present);
      if (!updated) return std::unexpected(updated.error());
      manifest = std::move(*updated);
    }
    // The ref records when it was resolved (MODELCACHE_REF_TTL counts from there).
    // Local paths are listed on every pull and never use the TTL: their ref is
    // rewritten only when the snapshot changes, so a warm pull writes nothing.
    auto old_ref = store.read_ref(folder, ref_name(ref));
    bool ref_current = old_ref && *old_ref && (*old_ref)->snapshot_id == listing->snapshot_id;
    if (!(ref.kind == core::RefKind::kFile && ref_current)) {
      if (auto s = store.write_ref(folder, ref_name(ref), {listing->snapshot_id, util::unix_now()}); !s) {
        return std::unexpected(s.error());
      }
    }
    Snapshot snap = make_snapshot(store, ref, manifest, rules);
    snap.bytes_downloaded = downloaded;
    snap.lease = std::make_shared<store::Lease>(std::move(*lease));
    snap.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return snap;
  }

  // For cache/package_pull: this pull, and the store-only answer for a snapshot the
  // ref still names (local paths are listed on every pull, so never for them). The
  // pulls share one origin listing: a cold package pull (manifest, then the
  // package's files) lists the origin once.
  cache::PackagePullHooks package_hooks(const core::ModelRef& ref, const PullOptions& options,
                                        bool& asked_origin) {
    auto origin = std::make_shared<std::optional<OriginListing>>();
    return {[this, &ref, &options, &asked_origin, origin](const cache::SelectionRules& rules) {
              return pull(ref, options, rules, asked_origin, origin.get());
            },
            [this, &ref](const cache::SelectionRules& rules, const std::string& id) -> Result<Snapshot> {
              if (ref.kind == core::RefKind::kFile) {
                return fail(ErrorCode::kNotCached, ref.display() + " must be resolved again");
              }
              return from_store(ref, rules, RefUse::kFresh, ErrorCode::kNotCached, id);
            }};
  }
};

Cache::Cache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cache::Cache(Cache&&) noexcept = default;
Cache& Cache::operator=(Cache&&) noexcept = default;
Cache::~Cache() = default;

Result<Cache> Cache::open(const CacheOptions& options) {
  auto config = core::Config::from_env(options.root);
  if (!config) return std::unexpected(config.error());
  auto store = store::Store::open(config->root, store::root_policy(*config));
  if (!store) return std::unexpected(store.error());
  return Cache(std::make_unique<Impl>(Impl{std::move(*config), std::move(*store)}));
}

const std::filesystem::path& Cache::root() const { return impl_->store.layout().root(); }

namespace {
Result<core::ModelRef> parse_with_revision(std::string_view text, const PullOptions& options) {
  auto ref = core::parse_ref(text);
  if (!ref) return ref;
  if (!options.revision.empty()) {
    const bool bucket_pin = ref->is_bucket() && core::is_commit_hash(options.revision);
    if (ref->kind != core::RefKind::kHuggingFace && !bucket_pin) {
      return fail(ErrorCode::kInvalidArgument,
                  "--revision applies to hf:// references, and to bucket references as a 40-hex snapshot id");
    }
    ref->revision = options.revision;
  }
  return ref;
}
}  // namespace

Result<Snapshot> Cache::pull(std::string_view ref_text, const PullOptions& options) {
  auto ref = parse_with_revision(ref_text, options);
  if (!ref) return std::unexpected(ref.error());
  bool asked_origin = false;
  auto snap = options.package.empty()
                  ? impl_->pull(*ref, options, cache::SelectionRules{options.allow, options.ignore}, asked_origin)
                  : cache::pull_package(*ref, options, impl_->config, impl_->store,
                                        impl_->package_hooks(*ref, options, asked_origin));
  if (snap && asked_origin && impl_->config.max_size) {
    // MODELCACHE_MAX_SIZE: best effort; when another pull or gc holds the gc
    // lock, the last one to finish applies the budget.
    auto gc = store::gc(impl_->store, *impl_->config.max_size, {{ref->folder_name(), snap->snapshot_id}},
                        store::Wait::kTry);
    if (!gc) util::log(util::LogLevel::kWarn, "MODELCACHE_MAX_SIZE: {}", gc.error().message);
  }
  return snap;
}

Result<PackageResolution> Cache::resolve_package(std::string_view ref_text, const PullOptions& options) {
  auto ref = parse_with_revision(ref_text, options);
  if (!ref) return std::unexpected(ref.error());
  bool asked_origin = false;
  return cache::resolve_package(*ref, options, impl_->config, impl_->store,
                                impl_->package_hooks(*ref, options, asked_origin));
}

Result<Snapshot> Cache::cached(std::string_view ref_text, const PullOptions& options) {
  auto ref = parse_with_revision(ref_text, options);
  if (!ref) return std::unexpected(ref.error());
  return impl_->from_store(*ref, cache::SelectionRules{options.allow, options.ignore},
                           Impl::RefUse::kAnyAge, ErrorCode::kNotCached);
}

Result<std::vector<CachedSnapshot>> Cache::list() const {
  auto infos = impl_->store.list();
  if (!infos) return std::unexpected(infos.error());
  std::vector<CachedSnapshot> out;
  for (auto& i : *infos) {
    out.push_back(CachedSnapshot{i.model, i.snapshot_id, i.revisions, i.path, i.bytes, i.files,
                                 store::last_used(impl_->store.layout(), i.folder, i.snapshot_id)});
  }
  return out;
}

Result<std::vector<CorruptBlob>> Cache::verify(std::string_view ref_text, VerifyMode mode) {
  std::optional<std::string> folder;
  if (!ref_text.empty()) {
    auto ref = core::parse_ref(ref_text);
    if (!ref) return std::unexpected(ref.error());
    folder = ref->folder_name();
    if (!util::exists(impl_->store.layout().model_dir(*folder))) {
      return fail(ErrorCode::kNotCached, ref->id() + " is not in the cache");
    }
  }
  auto issues = impl_->store.verify(folder, mode);
  if (!issues) return std::unexpected(issues.error());
  // Name the files that use each bad blob, so the user knows what is affected.
  auto snapshots = impl_->store.list();
  std::vector<CorruptBlob> out;
  for (auto& issue : *issues) {
    CorruptBlob c{issue.blob, issue.reason, {}};
    if (snapshots) {
      for (const auto& snap : *snapshots) {
        auto m = impl_->store.read_manifest(snap.folder, snap.snapshot_id);
        if (!m || !*m) continue;
        for (const auto& f : (*m)->files) {
          if (f.sha256 == issue.blob) c.used_by.push_back(snap.model + "@" + snap.snapshot_id + ":" + f.path);
        }
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace modelcache
