#include "deploy/runner.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "core/model_ref.hpp"
#include "core/secrets.hpp"

namespace modelcache::deploy {

namespace {

namespace fs = std::filesystem;

bool inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// Defence in depth: whatever a lower layer put in its message, the entry's error
// never carries the secret value or a signed URL's query.
Error labelled(const Entry& entry, const Error& error, const std::optional<std::string>& secret = {}) {
  std::string message = error.message;
  // The label already names the model: drop the origin's own leading "<ref>: ".
  if (auto ref = core::parse_ref(entry.ref)) {
    for (const std::string& named : {ref->id(), ref->id() + "@" + ref->revision, entry.ref}) {
      if (message.starts_with(named + ": ")) {
        message.erase(0, named.size() + 2);
        break;
      }
    }
  }
  if (secret && secret->size() >= 4) replace_all(message, *secret, "<redacted>");
  const std::string shown = shown_source(entry.ref);
  if (shown != entry.ref) {
    replace_all(message, entry.ref, shown);
    if (auto query = entry.ref.find_first_of("?#"); query != std::string::npos) {
      replace_all(message, std::string_view(entry.ref).substr(query), "?<redacted>");
    }
  }
  return Error{error.code, entry.label() + ": " + message};
}

// The files the lock recorded must be exactly what the pull selected.
Status check_against_pin(const PinnedEntry& pin, const Snapshot& snapshot) {
  if (snapshot.snapshot_id != pin.snapshot) {
    return fail(ErrorCode::kRevisionNotFound,
                fmt::format("the origin now serves snapshot {}, not {} recorded in the lock file: "
                            "it no longer has the pinned content; run modelcache lock again",
                            snapshot.snapshot_id, pin.snapshot));
  }
  bool same = pin.files.size() == snapshot.files.size();
  for (const auto& pf : pin.files) {
    if (!same) break;
    same = std::any_of(snapshot.files.begin(), snapshot.files.end(), [&](const SnapshotFile& f) {
      return f.path == pf.path && f.sha256 == pf.sha256 && f.size == pf.size;
    });
  }
  if (!same) {
    return fail(ErrorCode::kIntegrity,
                fmt::format("snapshot {} does not hold the files the lock file lists (sha256 differs "
                            "or a file is missing): run modelcache lock again",
                            pin.snapshot));
  }
  return {};
}

EntryOutcome run_one(const Entry& entry, const RunOptions& options, const fs::path& mount_root) {
  EntryOutcome out;
  out.entry = &entry;
  PullOptions pull;
  auto failed = [&](const Error& e) {
    out.error = labelled(entry, e, pull.token ? pull.token : pull.secret);
    return out;
  };

  pull.revision = entry.revision;
  pull.allow = entry.allow;
  pull.ignore = entry.ignore;
  pull.network = options.network;
  if (!entry.secret_name.empty()) {
    auto secret = core::resolve_secret(entry.secret_name);
    if (secret) {
      // The Hub reads a token; every other origin reads the secret's own format.
      if (entry.ref.starts_with("hf://")) {
        pull.token = std::move(*secret);
      } else {
        pull.secret = std::move(*secret);
      }
    } else if (!(entry.secret_optional && secret.error().code == ErrorCode::kNotFound)) {
      return failed(secret.error());
    }
  }

  std::string ref = entry.ref;
  const PinnedEntry* pin = nullptr;
  if (options.pins != nullptr) {
    auto found = options.pins->find(entry);
    if (!found) return failed(found.error());
    pin = *found;
    if (pin->ref_is_pinnable) {
      ref = pin->pinned;
      pull.revision.clear();
    }
  }

  auto cache = Cache::open(options.cache);
  if (!cache) return failed(cache.error());
  auto snapshot = cache->pull(ref, pull);
  if (!snapshot) {
    Error e = snapshot.error();
    if (pin != nullptr && (e.code == ErrorCode::kRevisionNotFound || e.code == ErrorCode::kNotFound)) {
      e.message = fmt::format("the origin no longer has {} pinned by the lock file ({}): run modelcache "
                              "lock again to pin what it serves now",
                              pin->pinned, e.message);
    }
    return failed(e);
  }
  if (pin != nullptr) {
    if (auto ok = check_against_pin(*pin, *snapshot); !ok) return failed(ok.error());
  }
  out.snapshot = std::move(*snapshot);

  if (options.policy == MountPolicy::kMount) {
    if (auto target = entry.mount_path(mount_root)) {
      if (auto ok = mount_snapshot(*out.snapshot, *target, options.mode); !ok) return failed(ok.error());
      out.mount = *target;
    }
  }
  return out;
}

}  // namespace

Status check_mounts(const DeployConfig& config, const fs::path& mount_root) {
  std::vector<std::pair<fs::path, const Entry*>> mounts;
  for (const auto& e : config.entries) {
    if (auto m = e.mount_path(mount_root)) mounts.emplace_back(m->lexically_normal(), &e);
  }
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    if (!mounts[i].first.is_absolute()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: mount path {} is not absolute (set --mount-root to an absolute folder)",
                              mounts[i].second->label(), mounts[i].first.string()));
    }
    for (std::size_t j = 0; j < mounts.size(); ++j) {
      if (i == j) continue;
      if (inside(mounts[i].first, mounts[j].first)) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{} mounts at {}, which is {} the mount of {}: give each entry its own folder",
                                mounts[i].second->label(), mounts[i].first.string(),
                                mounts[i].first == mounts[j].first ? "also" : "inside",
                                mounts[j].second->label()));
      }
    }
  }
  return {};
}

std::vector<EntryOutcome> run_entries(const DeployConfig& config, const RunOptions& options) {
  std::vector<EntryOutcome> outcomes(config.entries.size());
  std::vector<std::thread> threads;
  threads.reserve(config.entries.size());
  for (std::size_t i = 0; i < config.entries.size(); ++i) {
    threads.emplace_back([&, i] { outcomes[i] = run_one(config.entries[i], options, options.mount_root); });
  }
  for (auto& t : threads) t.join();
  return outcomes;
}

}  // namespace modelcache::deploy
