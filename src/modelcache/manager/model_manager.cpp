#include "manager/model_manager.hpp"

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::manager {

struct ModelEntry {
  std::string id;
  ModelState state = ModelState::kLoading;
  std::string error;
  std::unique_ptr<LoadedModel> model;
  std::shared_ptr<void> lease;
  std::filesystem::path dir;
  std::string format;
  std::string task;
  std::uint64_t bytes = 0;
  bool pinned = false;
  // Counted against the limits: READY, UNLOADING, and a LOADING entry once room
  // was made for it (a load still resolving reserves nothing, so loads waiting
  // for room never wait on each other).
  bool reserved = false;
  std::uint64_t tick = 0;
  std::int64_t last_use = 0;
  double load_seconds = 0;
  int uses = 0;
};

const char* to_string(ModelState state) {
  switch (state) {
    case ModelState::kLoading:
      return "LOADING";
    case ModelState::kReady:
      return "READY";
    case ModelState::kUnloading:
      return "UNLOADING";
    case ModelState::kFailed:
      return "FAILED";
  }
  return "FAILED";
}

// --- ModelHandle ---

ModelHandle::ModelHandle(ModelManager* manager, std::shared_ptr<ModelEntry> entry)
    : manager_(manager), entry_(std::move(entry)) {}

ModelHandle::ModelHandle(ModelHandle&& other) noexcept
    : manager_(other.manager_), entry_(std::move(other.entry_)) {}

ModelHandle& ModelHandle::operator=(ModelHandle&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = other.manager_;
    entry_ = std::move(other.entry_);
  }
  return *this;
}

ModelHandle::~ModelHandle() { release(); }

void ModelHandle::release() {
  if (entry_) manager_->release(*entry_);
  entry_.reset();
}

LoadedModel& ModelHandle::model() const { return *entry_->model; }

// --- ModelManager ---

ModelManager::ModelManager(LoaderRegistry registry, Resolver resolver, ManagerLimits limits,
                           ManagerObserver* observer)
    : registry_(std::move(registry)),
      resolver_(std::move(resolver)),
      limits_(limits),
      observer_(observer) {
  if (limits_.max_models == 0) limits_.max_models = 1;
}

ModelManager::~ModelManager() = default;  // every handle is gone: the entries go with the map

void ModelManager::start(const std::vector<std::string>& pinned,
                         const std::vector<std::string>& preload) {
  {
    std::lock_guard lock(mutex_);
    pinned_.insert(pinned.begin(), pinned.end());
  }
  for (const auto* ids : {&pinned, &preload}) {
    for (const auto& id : *ids) {
      auto handle = acquire(id, OnFailed::kRetry);
      if (!handle) {
        util::log(util::LogLevel::kError, "serve: loading {} at start: {}", id,
                  handle.error().message);
      }
    }
  }
}

void ModelManager::touch(ModelEntry& entry) {
  entry.tick = ++tick_;
  entry.last_use = util::unix_now();
}

void ModelManager::release(ModelEntry& entry) {
  std::lock_guard lock(mutex_);
  --entry.uses;
  if (entry.state == ModelState::kReady) touch(entry);
  changed_.notify_all();
}

Result<ModelHandle> ModelManager::acquire(const std::string& id, OnFailed on_failed) {
  std::unique_lock lock(mutex_);
  while (true) {
    auto it = entries_.find(id);
    if (it == entries_.end()) break;
    EntryPtr entry = it->second;
    if (entry->state == ModelState::kReady) {
      ++entry->uses;
      touch(*entry);
      return ModelHandle(this, std::move(entry));
    }
    if (entry->state == ModelState::kFailed) {
      if (on_failed == OnFailed::kReport) return fail(ErrorCode::kInvalidArgument, entry->error);
      entries_.erase(it);
      break;
    }
    changed_.wait(lock);  // LOADING or UNLOADING: wait until it settles, then look again
  }
  auto entry = std::make_shared<ModelEntry>();
  entry->id = id;
  entry->pinned = pinned_.contains(id);
  entries_.emplace(id, entry);
  lock.unlock();
  if (auto s = load(entry); !s) return std::unexpected(s.error());
  return ModelHandle(this, std::move(entry));
}

Status ModelManager::fail_load(const EntryPtr& entry, std::string reason, double seconds) {
  {
    std::lock_guard lock(mutex_);
    entry->state = ModelState::kFailed;
    entry->error = util::printable(reason, 500);
    entry->reserved = false;
    entry->bytes = 0;
    entry->lease.reset();
    entry->last_use = util::unix_now();
    changed_.notify_all();
  }
  util::log(util::LogLevel::kWarn, "serve: model {} FAILED: {}", entry->id, entry->error);
  if (observer_) observer_->model_loaded(entry->id, false, seconds);
  return fail(ErrorCode::kInvalidArgument, entry->error);
}

Status ModelManager::load(const EntryPtr& entry) {
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto resolved = resolver_(entry->id);
  if (!resolved) return fail_load(entry, resolved.error().message, elapsed());
  Loader* loader = registry_.find(resolved->dir);
  if (!loader) {
    return fail_load(
        entry,
        fmt::format("no loader claims {} (formats served: {}); it needs e.g. a *.safetensors or "
                    "*.onnx file at the top of the model",
                    entry->id, registry_.formats()),
        elapsed());
  }
  std::uint64_t budget = limits_.memory_budget;
  auto too_big = [&](std::uint64_t bytes, const char* what) {
    return fmt::format("{} {} {}, more than the whole memory budget of {}; raise --memory-budget",
                       entry->id, what, util::format_bytes(bytes), util::format_bytes(budget));
  };
  {
    std::unique_lock lock(mutex_);
    entry->dir = resolved->dir;
    // The estimate. Files over the whole budget (other formats' files, variants)
    // say little about what the loader will hold: then nothing is evicted for an
    // estimate, and the real size decides after the load.
    entry->bytes = budget != 0 && resolved->disk_bytes > budget ? 0 : resolved->disk_bytes;
    if (auto s = make_room(lock, *entry, RoomMode::kWaitForLoads); !s) {
      // Not the model's fault: no FAILED state, the next request tries again.
      entries_.erase(entry->id);
      changed_.notify_all();
      return s;
    }
    entry->reserved = true;
  }
  auto model = loader->load(resolved->dir);
  if (!model) return fail_load(entry, model.error().message, elapsed());
  std::uint64_t held = (*model)->bytes_held();
  if (budget != 0 && held > budget) {
    model->reset();  // before fail_load: its memory goes now
    return fail_load(entry, too_big(held, "holds"), elapsed());
  }
  double seconds = elapsed();
  {
    std::unique_lock lock(mutex_);
    entry->bytes = held;
    // The real size may be over the estimate: evict more, but never wait for
    // other loads here (they may be waiting in this same step).
    (void)make_room(lock, *entry, RoomMode::kEvictOnly);
    entry->format = std::string((*model)->format());
    entry->task = std::string((*model)->task());
    entry->model = std::move(*model);
    entry->lease = std::move(resolved->lease);
    entry->load_seconds = seconds;
    entry->state = ModelState::kReady;
    entry->uses = 1;  // the caller's handle
    touch(*entry);
    changed_.notify_all();
  }
  util::log(util::LogLevel::kInfo, "serve: model {} READY ({}, {}, {:.3f} s)", entry->id,
            entry->format, util::format_bytes(held), seconds);
  if (observer_) observer_->model_loaded(entry->id, true, seconds);
  return {};
}

bool ModelManager::fits(const ModelEntry& self) const {
  std::size_t count = 1;
  std::uint64_t bytes = self.bytes;
  for (const auto& [id, e] : entries_) {
    if (e.get() == &self || !e->reserved) continue;
    ++count;
    bytes += e->bytes;
  }
  return count <= limits_.max_models &&
         (limits_.memory_budget == 0 || bytes <= limits_.memory_budget);
}

ModelManager::EntryPtr ModelManager::pick_victim(const ModelEntry& self) const {
  EntryPtr idle, busy;
  for (const auto& [id, e] : entries_) {
    if (e.get() == &self || e->state != ModelState::kReady || e->pinned) continue;
    EntryPtr& best = e->uses == 0 ? idle : busy;
    if (!best || e->tick < best->tick) best = e;
  }
  return idle ? idle : busy;
}

Status ModelManager::make_room(std::unique_lock<std::mutex>& lock, const ModelEntry& self,
                               RoomMode mode) {
  auto deadline = std::chrono::steady_clock::now() + limits_.wait_timeout;
  while (!fits(self)) {
    if (auto victim = pick_victim(self)) {
      evict(lock, victim);
      if (observer_) {
        lock.unlock();
        observer_->model_evicted(victim->id);
        lock.lock();
      }
      continue;
    }
    if (mode == RoomMode::kEvictOnly) {
      util::log(util::LogLevel::kWarn,
                "serve: {} loaded over the limits: every other model is pinned or loading",
                self.id);
      return {};
    }
    bool settling = false;  // a load or an unload in flight will change the picture
    for (const auto& [id, e] : entries_) {
      if (e.get() != &self && e->reserved && e->state != ModelState::kReady) settling = true;
    }
    if (!settling) {
      return fail(
          ErrorCode::kNoSpace,
          fmt::format(
              "cannot load {}: the loaded models are pinned and leave no room under --max-models {}"
              "{}; raise the limits or pin fewer models",
              self.id, limits_.max_models,
              limits_.memory_budget
                  ? " / --memory-budget " + util::format_bytes(limits_.memory_budget)
                  : std::string()));
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && !fits(self)) {
      return fail(ErrorCode::kTimeout,
                  fmt::format("cannot load {}: no room freed within {} ms; retry", self.id,
                              limits_.wait_timeout.count()));
    }
  }
  return {};
}

void ModelManager::evict(std::unique_lock<std::mutex>& lock, const EntryPtr& victim) {
  victim->state = ModelState::kUnloading;  // no new handles from here on
  changed_.notify_all();
  changed_.wait(lock, [&] { return victim->uses == 0; });
  auto model = std::move(victim->model);
  auto lease = std::move(victim->lease);
  lock.unlock();
  model.reset();  // the memory goes here; the files stay
  lease.reset();
  lock.lock();
  if (auto it = entries_.find(victim->id); it != entries_.end() && it->second == victim) {
    entries_.erase(it);
  }
  victim->reserved = false;
  changed_.notify_all();
  util::log(util::LogLevel::kInfo, "serve: model {} unloaded", victim->id);
}

Status ModelManager::unload(const std::string& id) {
  std::unique_lock lock(mutex_);
  while (true) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      return fail(ErrorCode::kNotFound, fmt::format("{} is not loaded", id));
    }
    EntryPtr entry = it->second;
    if (entry->state == ModelState::kFailed) {
      entries_.erase(it);
      return {};
    }
    if (entry->state == ModelState::kReady) {
      evict(lock, entry);
      return {};
    }
    changed_.wait(lock);
  }
}

bool ModelManager::is_loaded(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second->state != ModelState::kFailed;
}

ModelInfo ModelManager::info_of(const ModelEntry& e) const {
  return ModelInfo{e.id,
                   e.state,
                   e.error,
                   e.format,
                   e.task,
                   e.bytes,
                   e.pinned || pinned_.contains(e.id),
                   e.last_use,
                   e.load_seconds,
                   e.uses,
                   e.dir};
}

std::optional<ModelInfo> ModelManager::info(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return info_of(*it->second);
}

std::vector<ModelInfo> ModelManager::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ModelInfo> out;
  for (const auto& [id, e] : entries_) out.push_back(info_of(*e));
  return out;
}

}  // namespace modelcache::manager
