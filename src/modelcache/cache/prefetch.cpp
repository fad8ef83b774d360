// Prefetch: one thread per entry, each running Cache::pull with a stop token and
// an on_files hook that feeds the shared status below. Waiters sleep on one
// condition variable that every status change wakes.
#include "modelcache/prefetch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

#include "net/http_client.hpp"
#include "store/layout.hpp"

namespace modelcache {

namespace {

bool finished(EntryState s) { return s == EntryState::kDone || s == EntryState::kFailed; }

}  // namespace

struct Prefetch::Impl {
  struct Entry {
    EntryState state = EntryState::kListing;
    std::vector<FileProgress> files;
    std::map<std::string, std::size_t, std::less<>> index;  // path -> position in files
    std::optional<Snapshot> snapshot;
    std::optional<Error> error;
  };

  std::vector<PrefetchItem> items;  // read-only once the threads run
  CacheOptions cache_options;
  std::stop_source stop;

  std::mutex cache_mu;
  std::optional<Result<Cache>> cache;  // guarded by cache_mu; shared by the threads

  mutable std::mutex mu;
  std::condition_variable cv;  // notified on every change of `entries`
  std::vector<Entry> entries;  // guarded by mu
  std::size_t running = 0;     // guarded by mu: entries not finished

  std::mutex join_mu;
  std::vector<std::thread> threads;  // guarded by join_mu after start()

  // The entry's reference as errors show it: without a query string, which may
  // carry a signature.
  std::string name(std::size_t i) const {
    return fmt::format("entry {} ({})", i, net::redact_url(items[i].ref));
  }

  Result<Cache*> open_cache() {
    std::lock_guard lock(cache_mu);
    if (!cache) cache.emplace(Cache::open(cache_options));
    if (!*cache) return std::unexpected(cache->error());
    return &**cache;
  }

  void run(std::size_t i) {
    std::filesystem::path root;
    Result<Snapshot> result = [&]() -> Result<Snapshot> {
      auto c = open_cache();
      if (!c) return std::unexpected(c.error());
      root = (*c)->root();
      PullOptions options = items[i].options;
      options.stop = stop.get_token();
      options.on_files = [this, i, user = items[i].options.on_files](std::span<const FileProgress> f) {
        on_files(i, f);
        if (user) user(f);
      };
      return (*c)->pull(items[i].ref, options);
    }();
    finish(i, std::move(result), root);
  }

  // Caller holds mu.
  FileProgress& file(Entry& e, const std::string& path) {
    auto [it, added] = e.index.try_emplace(path, e.files.size());
    if (added) {
      e.files.push_back(FileProgress{});
      e.files.back().path = path;
    }
    return e.files[it->second];
  }

  void on_files(std::size_t i, std::span<const FileProgress> changed) {
    {
      std::lock_guard lock(mu);
      Entry& e = entries[i];
      if (e.state == EntryState::kListing) e.state = EntryState::kDownloading;
      for (const FileProgress& f : changed) {
        FileProgress& mine = file(e, f.path);
        if (mine.state == FileState::kCommitted) continue;  // final
        const std::uint64_t done = std::max(mine.bytes_done, f.bytes_done);
        mine = f;
        mine.bytes_done = done;
      }
    }
    cv.notify_all();
  }

  void finish(std::size_t i, Result<Snapshot> result, const std::filesystem::path& root) {
    {
      std::lock_guard lock(mu);
      Entry& e = entries[i];
      if (result) {
        store::Layout layout(root);
        for (const SnapshotFile& sf : result->files) {
          FileProgress& f = file(e, sf.path);
          f.state = FileState::kCommitted;
          f.bytes_done = f.bytes_total = sf.size;
          f.blob = layout.blob(sf.sha256);
          f.error.reset();
        }
        e.snapshot = std::move(*result);
        e.state = EntryState::kDone;
      } else {
        e.error = result.error();
        e.state = EntryState::kFailed;
      }
      --running;
    }
    cv.notify_all();
  }

  // Caller holds mu.
  Error entry_error(std::size_t i) const {
    const Error& e = *entries[i].error;
    return Error{e.code, name(i) + ": " + e.message};
  }

  Error not_selected(std::size_t i, std::string_view path) const {
    const Entry& e = entries[i];
    std::string some;
    for (std::size_t k = 0; k < e.files.size() && k < 3; ++k) {
      some += (k ? ", " : "") + e.files[k].path;
    }
    if (e.files.size() > 3) some += ", ...";
    return Error{ErrorCode::kEntryNotFound,
                 fmt::format("{} does not select '{}' (it has {} file(s): {}); check the path "
                             "and the allow/ignore patterns",
                             name(i), path, e.files.size(), some)};
  }

  // Caller holds `lock` on mu.
  Result<std::filesystem::path> wait_file(std::unique_lock<std::mutex>& lock, std::size_t i,
                                          std::string_view path) {
    for (;;) {
      const Entry& e = entries[i];
      auto it = e.index.find(path);
      if (it != e.index.end()) {
        const FileProgress& f = e.files[it->second];
        if (e.state == EntryState::kDone) return e.snapshot->path / std::string(path);
        if (f.state == FileState::kCommitted) return f.blob;
        if (f.state == FileState::kFailed && f.error) {
          return std::unexpected(Error{f.error->code, name(i) + ": " + f.error->message});
        }
      } else if (e.state != EntryState::kListing && e.state != EntryState::kFailed) {
        return std::unexpected(not_selected(i, path));
      }
      if (e.state == EntryState::kFailed) return std::unexpected(entry_error(i));
      cv.wait(lock);
    }
  }

  void join() {
    std::lock_guard lock(join_mu);
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

Prefetch::Prefetch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Prefetch::Prefetch(Prefetch&&) noexcept = default;

Prefetch& Prefetch::operator=(Prefetch&& other) noexcept {
  if (this != &other) {
    if (impl_) cancel();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Prefetch::~Prefetch() {
  if (impl_) cancel();
}

Prefetch Prefetch::start(std::vector<PrefetchItem> items, const CacheOptions& cache) {
  auto impl = std::make_unique<Impl>();
  impl->items = std::move(items);
  impl->cache_options = cache;
  impl->entries.resize(impl->items.size());
  impl->running = impl->items.size();
  Impl* p = impl.get();
  for (std::size_t i = 0; i < p->items.size(); ++i) {
    p->threads.emplace_back([p, i] { p->run(i); });
  }
  return Prefetch(std::move(impl));
}

Result<std::vector<Snapshot>> Prefetch::wait() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->running == 0; });
  std::vector<Snapshot> out;
  std::vector<std::size_t> failed;
  for (std::size_t i = 0; i < impl_->entries.size(); ++i) {
    const auto& e = impl_->entries[i];
    if (e.snapshot) {
      out.push_back(*e.snapshot);
    } else {
      failed.push_back(i);
    }
  }
  if (failed.empty()) return out;
  Error first = impl_->entry_error(failed.front());
  if (failed.size() > 1) {
    std::string others;
    for (std::size_t k = 1; k < failed.size(); ++k) {
      others += (k > 1 ? ", " : "") + net::redact_url(impl_->items[failed[k]].ref);
    }
    first.message += fmt::format(" (and {} more entr{} failed: {})", failed.size() - 1,
                                 failed.size() == 2 ? "y" : "ies", others);
  }
  return std::unexpected(first);
}

Result<Snapshot> Prefetch::wait(std::size_t item) {
  if (item >= impl_->items.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("no entry {}: this prefetch has {}", item, impl_->items.size()));
  }
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return finished(impl_->entries[item].state); });
  if (impl_->entries[item].snapshot) return *impl_->entries[item].snapshot;
  return std::unexpected(impl_->entry_error(item));
}

bool Prefetch::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->running == 0; });
}

Result<std::filesystem::path> Prefetch::wait_file(std::size_t item, std::string_view path) {
  if (item >= impl_->items.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("no entry {}: this prefetch has {}", item, impl_->items.size()));
  }
  std::unique_lock lock(impl_->mu);
  return impl_->wait_file(lock, item, path);
}

Result<std::filesystem::path> Prefetch::wait_file(std::string_view path) {
  std::unique_lock lock(impl_->mu);
  // Which entry has the file is known once every entry is listed (or failed).
  impl_->cv.wait(lock, [&] {
    return std::none_of(impl_->entries.begin(), impl_->entries.end(),
                        [](const Impl::Entry& e) { return e.state == EntryState::kListing; });
  });
  std::vector<std::size_t> having, unlisted;
  for (std::size_t i = 0; i < impl_->entries.size(); ++i) {
    const auto& e = impl_->entries[i];
    if (e.index.contains(path)) {
      having.push_back(i);
    } else if (e.state == EntryState::kFailed && e.files.empty()) {
      unlisted.push_back(i);
    }
  }
  if (having.size() == 1) return impl_->wait_file(lock, having.front(), path);
  if (having.size() > 1) {
    std::string which;
    for (std::size_t k = 0; k < having.size(); ++k) which += (k ? " and " : "") + impl_->name(having[k]);
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is selected by {}: call wait_file(item, path) with the entry's index",
                            path, which));
  }
  if (!unlisted.empty()) {
    // It may belong to an entry that failed before it was listed: that error says why.
    Error e = impl_->entry_error(unlisted.front());
    e.message = fmt::format("'{}' not found: {}", path, e.message);
    return std::unexpected(e);
  }
  return fail(ErrorCode::kEntryNotFound,
              fmt::format("no entry of this prefetch selects '{}' (its {} entr{} are listed): check "
                          "the path and the allow/ignore patterns",
                          path, impl_->entries.size(), impl_->entries.size() == 1 ? "y" : "ies"));
}

PrefetchStatus Prefetch::progress() const {
  std::lock_guard lock(impl_->mu);
  PrefetchStatus out;
  for (std::size_t i = 0; i < impl_->entries.size(); ++i) {
    const auto& e = impl_->entries[i];
    PrefetchEntry pe;
    pe.ref = net::redact_url(impl_->items[i].ref);
    pe.state = e.state;
    pe.files = e.files;
    pe.error = e.error;
    for (const auto& f : e.files) {
      out.bytes_done += f.bytes_done;
      out.bytes_total += f.bytes_total;
    }
    out.entries.push_back(std::move(pe));
  }
  out.finished = impl_->running == 0;
  return out;
}

void Prefetch::cancel() {
  impl_->stop.request_stop();
  impl_->join();
}

}  // namespace modelcache
