// The model manager: which models are loaded, in what state, and which one goes
// when a new one needs room (doc/INFERENCE.md).
//   - A model id is a model reference as the CLI takes it (hf://org/name[@rev],
//     file:///dir, s3://...); the Resolver (the daemon: Cache::pull, package
//     "auto") turns it into a snapshot directory, and the first loader of the
//     registry that claims that directory loads it.
//   - States: LOADING -> READY -> UNLOADING -> (gone), or LOADING -> FAILED
//     (reason kept until an explicit load retries or an unload clears it).
//   - Concurrent acquires of a model that is not loaded cause one load; the
//     others wait for it.
//   - An LRU bounded by count (max_models) and by bytes (memory_budget, counting
//     LoadedModel::bytes_held()). Room is made before a load (the snapshot's size
//     on disk is the estimate) and checked again with the real size after it.
//     Pinned models are never evicted. A model held by a ModelHandle (a request
//     using it) is never destroyed under it: idle models go first; when only
//     models in use are left, the least recently used is marked UNLOADING (no new
//     handles) and destroyed when its last handle goes.
//   - A model that alone needs more than the memory budget is FAILED, not loaded.
//   - Eviction destroys the LoadedModel and drops the snapshot's lease; it never
//     deletes files.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "manager/loaded_model.hpp"
#include "manager/loader_registry.hpp"

namespace modelcache::manager {

enum class ModelState { kLoading, kReady, kUnloading, kFailed };
const char* to_string(ModelState state);  // "LOADING", "READY", "UNLOADING", "FAILED"

struct ManagerLimits {
  std::size_t max_models = 8;       // --max-models, MAX_ACTIVE_MODELS
  std::uint64_t memory_budget = 0;  // --memory-budget; 0 = no byte limit
  // How long a load waits for loads in flight to settle before it gives up.
  std::chrono::milliseconds wait_timeout{60000};
};

// A model's snapshot, resolved (and fetched when needed) from its id.
struct ResolvedModel {
  std::filesystem::path dir;
  std::uint64_t disk_bytes = 0;  // the files' size: the estimate room is made for before loading
  std::shared_ptr<void> lease;   // held while the model is loaded (gc leaves its files alone)
};
using Resolver = std::function<Result<ResolvedModel>(const std::string& id)>;

// Told about loads and evictions (the daemon's metrics). Called without the
// manager's lock held, from the thread that loaded or evicted.
class ManagerObserver {
 public:
  virtual ~ManagerObserver() = default;
  virtual void model_loaded(const std::string& id, bool ok, double seconds) = 0;
  virtual void model_evicted(const std::string& id) = 0;
};

struct ModelInfo {
  std::string id;
  ModelState state = ModelState::kLoading;
  std::string error;  // FAILED: why
  std::string format;
  std::string task;
  std::uint64_t bytes = 0;  // bytes_held() once READY; the estimate while LOADING
  bool pinned = false;
  std::int64_t last_use = 0;  // unix seconds
  double load_seconds = 0;
  int in_use = 0;  // handles held now
  std::filesystem::path snapshot;
};

struct ModelEntry;
class ModelManager;

// A READY model held for one request: it is not destroyed while the handle lives.
class ModelHandle {
 public:
  ModelHandle(ModelHandle&& other) noexcept;
  ModelHandle& operator=(ModelHandle&& other) noexcept;
  ModelHandle(const ModelHandle&) = delete;
  ModelHandle& operator=(const ModelHandle&) = delete;
  ~ModelHandle();

  LoadedModel& model() const;

 private:
  friend class ModelManager;
  ModelHandle(ModelManager* manager, std::shared_ptr<ModelEntry> entry);
  void release();

  ModelManager* manager_ = nullptr;
  std::shared_ptr<ModelEntry> entry_;
};

// What acquire() does with a model whose last load FAILED.
enum class OnFailed {
  kReport,  // answer its reason again, no new load (inference requests)
  kRetry,   // forget the failure and load again (an explicit load)
};

class ModelManager {
 public:
  ModelManager(LoaderRegistry registry, Resolver resolver, ManagerLimits limits,
               ManagerObserver* observer = nullptr);
  ~ModelManager();
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // Loads `pinned` (never evicted) then `preload` (ordinary LRU members), one at a
  // time; a model that fails is FAILED with its reason (logged), the rest go on.
  void start(const std::vector<std::string>& pinned, const std::vector<std::string>& preload);

  // The model READY, held by the handle; loaded first when it is not (one load
  // however many ask). Errors: the model's FAILED reason (state() says FAILED);
  // kNoSpace when every slot holds a pinned model; kTimeout when loads in flight
  // did not make room in time.
  Result<ModelHandle> acquire(const std::string& id, OnFailed on_failed);

  // Unloads `id` (waits for the requests using it) or forgets its failure;
  // kNotFound when it is neither loaded nor FAILED.
  Status unload(const std::string& id);

  // Whether `id` is LOADING, READY or UNLOADING (what DELETE refuses).
  bool is_loaded(const std::string& id) const;
  std::optional<ModelInfo> info(const std::string& id) const;
  std::vector<ModelInfo> list() const;  // by id

 private:
  friend class ModelHandle;
  using EntryPtr = std::shared_ptr<ModelEntry>;

  void release(ModelEntry& entry);
  // Runs the resolver and the loader for `entry` (LOADING, not locked); on
  // success the entry is READY and held once for the caller.
  Status load(const EntryPtr& entry);
  Status fail_load(const EntryPtr& entry, std::string reason, double seconds);
  // Evicts until `self` fits. kWaitForLoads: also waits for loads in flight to
  // become evictable (before a load); kEvictOnly: gives up when nothing READY is left.
  enum class RoomMode { kWaitForLoads, kEvictOnly };
  Status make_room(std::unique_lock<std::mutex>& lock, const ModelEntry& self, RoomMode mode);
  bool fits(const ModelEntry& self) const;
  EntryPtr pick_victim(const ModelEntry& self) const;
  // UNLOADING, waits for its handles, destroys it outside the lock, erases it.
  void evict(std::unique_lock<std::mutex>& lock, const EntryPtr& victim);
  void touch(ModelEntry& entry);
  ModelInfo info_of(const ModelEntry& entry) const;

  LoaderRegistry registry_;
  Resolver resolver_;
  ManagerLimits limits_;
  ManagerObserver* observer_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // any state change, any handle released
  std::map<std::string, EntryPtr> entries_;
  std::set<std::string> pinned_;
  std::uint64_t tick_ = 0;  // LRU order: a counter, so that no two uses tie
};

}  // namespace modelcache::manager
