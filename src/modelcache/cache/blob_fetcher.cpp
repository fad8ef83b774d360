#include "cache/blob_fetcher.hpp"

#include <map>

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

std::vector<Result<FetchedBlob>> BlobFetcher::fetch(
    const std::vector<const source::RemoteFile*>& files,
    const std::function<void(const Progress&)>& on_progress) {
  std::vector<Result<FetchedBlob>> results(files.size(),
                                           fail(ErrorCode::kInternal, "not fetched"));
  // Files with the same key are fetched once and share the result.
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < files.size(); ++i) by_key[key_for(*files[i])].push_back(i);

  auto settle = [&](const std::string& key, Result<FetchedBlob> r) {
    for (std::size_t i : by_key[key]) results[i] = r;
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
  Progress progress;
  progress.files_total = static_cast<int>(pending.size());
  std::uint64_t bytes_before = 0;

  while (!pending.empty()) {
    std::vector<std::string> mine, busy;
    std::vector<util::LockFile> locks;
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
      locks.push_back(std::move(**lock));
      mine.push_back(key);
    }
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
      if (!engine_) engine_.emplace(settings_);
      auto fetched = engine_->fetch(requests, [&](const transfer::EngineProgress& p) {
        if (!on_progress) return;
        Progress out = progress;
        out.bytes_done = bytes_before + p.bytes_done;
        out.bytes_total = bytes_before + p.bytes_total;
        out.files_done = progress.files_done + p.files_done;
        on_progress(out);
      });
      for (std::size_t i = 0; i < mine.size(); ++i) {
        const std::string& key = mine[i];
        if (!fetched[i]) {
          Error e = fetched[i].error();
          // The listing just said the file exists: gone now means it was replaced or
          // deleted since (a pinned GCS generation, an expired listing), not a typo.
          if (e.code == ErrorCode::kNotFound) {
            e.message += ": the object changed while downloading (or was deleted since it was "
                         "listed); pull again";
          }
          settle(key, std::unexpected(std::move(e)));
          continue;
        }
        const transfer::FetchResult& r = *fetched[i];
        if (auto s = store_.commit_blob(requests[i].part_path, r.sha256); !s) {
          settle(key, std::unexpected(s.error()));
          continue;
        }
        record_blob(key, r.sha256);
        bytes_before += r.bytes_downloaded;
        progress.files_done++;
        settle(key, FetchedBlob{r.sha256, r.size, r.bytes_downloaded, r.etag});
      }
      locks.clear();  // release: waiters in other processes now find the blobs
    }
    if (!busy.empty() && mine.empty()) {
      // Everything left is being fetched by someone else: wait for one holder,
      // then look again (it either committed the blob or died and we take over).
      auto wait = store_.lock_blob(busy.front());
      if (!wait) {
        settle(busy.front(), std::unexpected(wait.error()));
        busy.erase(busy.begin());
      }
    }
    pending = std::move(busy);
  }
  return results;
}

}  // namespace modelcache::cache
