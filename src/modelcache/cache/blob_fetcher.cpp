#include "cache/blob_fetcher.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "net/http_client.hpp"
#include "util/atomic_file.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::cache {

BlobFetcher::BlobFetcher(store::Store& store, const core::TransferSettings& settings)
    : store_(store), settings_(settings) {}

std::string BlobFetcher::key_for(const source::RemoteFile& file) {
  if (file.digest && file.digest->algo == core::DigestAlgo::kSha256) return file.digest->hex;
  std::string where = net::redact_url(file.url) + "\n" + std::to_string(file.size) + "\n" +
                      file.etag + "\n" + file.last_modified;
  // A 32-bit CRC32C is far too weak to name content on its own: two objects
  // sharing one would share a blob. It keys together with the object's identity.
  if (file.digest && file.digest->algo == core::DigestAlgo::kCrc32c) {
    return util::sha256_hex(file.digest->to_string() + "\n" + where);
  }
  return util::sha256_hex(file.digest ? file.digest->to_string() : where);
}

// tmp/<key>.sha256 remembers which blob a non-sha256 key produced, so that a
// waiter (or a later pull of a file with the same git oid) finds it without a download.
std::optional<std::string> BlobFetcher::recorded_blob(const std::string& key) const {
  auto text = util::read_file(store_.layout().tmp_dir() / (key + ".sha256"));
  if (!text) return std::nullopt;
  std::string sha(util::trim(*text));
  if (!util::is_hex(sha, 64) || !store_.has_blob(sha)) return std::nullopt;
  return sha;
}

void BlobFetcher::record_blob(const std::string& key, const std::string& sha256) const {
  if (key == sha256) return;
  auto s = util::write_file_atomic(store_.layout().tmp_dir() / (key + ".sha256"), sha256 + "\n");
  if (!s) util::log(util::LogLevel::kWarn, "{}", s.error().message);
}

std::optional<std::string> BlobFetcher::known_blob(const source::RemoteFile& file) const {
  std::string key = key_for(file);
  if (file.digest && file.digest->algo == core::DigestAlgo::kSha256) {
    if (store_.has_blob(key)) return key;
    return std::nullopt;
  }
  return recorded_blob(key);
}

namespace {

Error cancelled(const source::RemoteFile& f) {
  return Error{ErrorCode::kCancelled, f.path + ": cancelled before it was fetched"};
}

constexpr auto kLockPoll = std::chrono::milliseconds(50);

}  // namespace

std::vector<Result<FetchedBlob>> BlobFetcher::fetch(const std::vector<const source::RemoteFile*>& files,
                                                    const BlobHooks& hooks) {
  std::vector<Result<FetchedBlob>> results(files.size(),
                                           fail(ErrorCode::kInternal, "not fetched"));
  // Files with the same key are fetched once and share the result.
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < files.size(); ++i) by_key[key_for(*files[i])].push_back(i);

  // What on_files reports, per file; `changed` collects the indices to send next.
  std::vector<FileProgress> status(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    status[i].path = files[i]->path;
    status[i].bytes_total = files[i]->size == source::kUnknownSize ? 0 : files[i]->size;
  }
  std::vector<std::size_t> changed;
  auto emit = [&] {
    if (hooks.on_files && !changed.empty()) {
      std::sort(changed.begin(), changed.end());
      changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
      std::vector<FileProgress> out;
      out.reserve(changed.size());
      for (std::size_t i : changed) out.push_back(status[i]);
      hooks.on_files(out);
    }
    changed.clear();
  };

  auto settle = [&](const std::string& key, Result<FetchedBlob> r) {
    for (std::size_t i : by_key[key]) {
      results[i] = r;
      FileProgress& st = status[i];
      if (r) {
        st.state = FileState::kCommitted;
        st.blob = store_.layout().blob(r->sha256);
        st.bytes_total = st.bytes_done = st.bytes_ready = r->size;
        st.part.clear();
      } else {
        st.state = FileState::kFailed;
        st.error = r.error();
      }
      changed.push_back(i);
    }
  };
  auto settle_if_present = [&](const std::string& key) {
    const source::RemoteFile& f = *files[by_key[key].front()];
    if (auto sha = known_blob(f)) {
      settle(key, FetchedBlob{*sha, f.size == source::kUnknownSize ? 0 : f.size, 0, f.etag});
      return true;
    }
    return false;
  };

  std::vector<std::string> pending;
  for (const auto& [key, idx] : by_key) {
    if (!settle_if_present(key)) pending.push_back(key);
  }
  // The first report names every selected file.
  changed.clear();
  for (std::size_t i = 0; i < files.size(); ++i) changed.push_back(i);
  emit();

  Progress progress;
  progress.files_total = static_cast<int>(pending.size());
  std::uint64_t bytes_before = 0;  // downloaded by the batches (and files) already done

  while (!pending.empty()) {
    if (hooks.stop.stop_requested()) {
      for (const auto& key : pending) settle(key, std::unexpected(cancelled(*files[by_key[key].front()])));
      emit();
      break;
    }
    std::vector<std::string> mine, busy;
    std::map<std::string, util::LockFile> locks;
    for (const auto& key : pending) {
      auto lock = store_.try_lock_blob(key);
      if (!lock) {
        settle(key, std::unexpected(lock.error()));
        continue;
      }
      if (!*lock) {
        busy.push_back(key);
        continue;
      }
      if (settle_if_present(key)) continue;  // finished by the previous holder
      locks.emplace(key, std::move(**lock));
      mine.push_back(key);
    }
    emit();
    // Smallest first (unknown sizes last): the engine opens files in request order
    // and one big file can hold every connection to its host, so configs and
    // tokenizers, which a server reads first, would otherwise wait for the weights.
    // A file someone waits for (BlobHooks::first) goes before them all.
    auto rank = [&](const std::string& key) {
      const auto& idx = by_key[key];
      bool wanted = std::any_of(idx.begin(), idx.end(), [&](std::size_t i) { return files[i]->path == hooks.first; });
      return std::pair(hooks.first.empty() || !wanted, files[idx.front()]->size);
    };
    std::stable_sort(mine.begin(), mine.end(), [&](const std::string& a, const std::string& b) {
      return rank(a) < rank(b);
    });
    if (!mine.empty()) {
      std::vector<transfer::FetchRequest> requests;
      for (const auto& key : mine) {
        const source::RemoteFile& f = *files[by_key[key].front()];
        transfer::FetchRequest r;
        r.label = f.path;
        r.url = f.url;
        r.headers = f.headers;
        r.sign = f.sign;
        r.size = f.size;
        r.expected = f.digest;
        r.part_path = store_.layout().part_file(key);
        r.journal_path = store_.layout().journal_file(key);
        requests.push_back(std::move(r));
      }
      const std::uint64_t batch_base = bytes_before;
      // Called by the engine the moment request i is settled: commit its blob and
      // release its lock now, so that waiters (here and in other processes) get it
      // while the rest of the batch downloads.
      std::vector<bool> done(mine.size(), false);
      auto finish = [&](std::size_t i, const Result<transfer::FetchResult>& fetched) {
        if (done[i]) return;
        done[i] = true;
        const std::string& key = mine[i];
        if (!fetched) {
          Error e = fetched.error();
          // The listing just said the file exists: gone now means it was replaced or
          // deleted since (a pinned GCS generation, an expired listing), not a typo.
          if (e.code == ErrorCode::kNotFound) {
            e.message += ": the object changed while downloading (or was deleted since it was "
                         "listed); pull again";
          }
          settle(key, std::unexpected(std::move(e)));
        } else if (auto s = store_.commit_blob(requests[i].part_path, fetched->sha256); !s) {
          settle(key, std::unexpected(s.error()));
        } else {
          record_blob(key, fetched->sha256);
          bytes_before += fetched->bytes_downloaded;
          progress.files_done++;
          settle(key, FetchedBlob{fetched->sha256, fetched->size, fetched->bytes_downloaded,
                                  fetched->etag});
        }
        locks.erase(key);
        emit();
      };
      transfer::FetchHooks engine_hooks;
      engine_hooks.stop = hooks.stop;
      engine_hooks.on_file_done = finish;
      engine_hooks.on_progress = [&](const transfer::EngineProgress& p) {
        for (std::size_t i = 0; i < mine.size() && i < p.files.size(); ++i) {
          if (done[i]) continue;
          const transfer::FileBytes& fb = p.files[i];
          for (std::size_t idx : by_key[mine[i]]) {
            FileProgress& st = status[idx];
            if (fb.total != transfer::kUnknownSize) st.bytes_total = fb.total;
            if (fb.done > st.bytes_done || fb.ready > st.bytes_ready ||
                (fb.done > 0 && st.state == FileState::kQueued)) {
              st.state = FileState::kDownloading;
              st.bytes_done = std::max(st.bytes_done, fb.done);
              st.bytes_ready = std::max(st.bytes_ready, fb.ready);
              st.part = requests[i].part_path;
              changed.push_back(idx);
            }
          }
        }
        emit();
        if (!hooks.on_progress) return;
        Progress out = progress;
        out.bytes_done = batch_base + p.bytes_done;
        out.bytes_total = batch_base + p.bytes_total;
        hooks.on_progress(out);
      };
      if (!engine_) engine_.emplace(settings_);
      auto fetched = engine_->fetch(requests, engine_hooks);
      for (std::size_t i = 0; i < mine.size(); ++i) finish(i, fetched[i]);
      locks.clear();
    }
    if (!busy.empty() && mine.empty()) {
      // Everything left is being fetched by someone else: wait for one holder,
      // then look again (it either committed the blob or died and we take over).
      // With a stop token the wait polls, so that a cancel is never stuck behind
      // another process's download.
      if (!hooks.stop.stop_possible()) {
        auto wait = store_.lock_blob(busy.front());
        if (!wait) {
          settle(busy.front(), std::unexpected(wait.error()));
          busy.erase(busy.begin());
        }
      } else {
        while (!hooks.stop.stop_requested()) {
          auto got = store_.try_lock_blob(busy.front());
          if (!got) {
            settle(busy.front(), std::unexpected(got.error()));
            busy.erase(busy.begin());
            break;
          }
          if (*got) break;
          std::this_thread::sleep_for(kLockPoll);
        }
      }
      emit();
    }
    pending = std::move(busy);
  }
  return results;
}

}  // namespace modelcache::cache
