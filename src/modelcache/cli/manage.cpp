#include "cli/manage.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

Result<store::Store> open_store() {
  auto config = core::Config::from_env();
  if (!config) return std::unexpected(config.error());
  return open_store(*config);
}

Result<store::Store> open_store(const core::Config& config) {
  return store::Store::open(config.root, store::root_policy(config));
}

void print_report(std::string_view verb, const store::ManageReport& r, bool json) {
  for (const auto& s : r.skipped) {
    std::fprintf(stderr, "modelcache: kept %s: a running process is using it (lease held)\n",
                 s.c_str());
  }
  if (json) {
    nlohmann::json out{{"removed", r.removed},
                       {"skipped", r.skipped},
                       {"blobs_removed", r.blobs_removed},
                       {"bytes_freed", r.bytes_freed},
                       {"tmp_removed", r.tmp_removed},
                       {"refs_removed", r.refs_removed},
                       {"dirs_removed", r.dirs_removed},
                       {"bytes_after", r.bytes_after}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  for (const auto& s : r.removed) std::printf("removed %s\n", s.c_str());
  std::printf(
      "%.*s: %zu snapshot(s) removed, %zu blob(s) freed (%s), %zu partial file(s), %zu ref(s), "
      "%zu folder(s); %s of blobs left\n",
      static_cast<int>(verb.size()), verb.data(), r.removed.size(), r.blobs_removed,
      util::format_bytes(r.bytes_freed).c_str(), r.tmp_removed, r.refs_removed, r.dirs_removed,
      util::format_bytes(r.bytes_after).c_str());
}

std::string format_age(std::int64_t t) {
  if (t <= 0) return "never";
  std::int64_t age = util::unix_now() - t;
  if (age < 0) age = 0;
  if (age < 120) return std::to_string(age) + "s ago";
  if (age < 7200) return std::to_string(age / 60) + "m ago";
  if (age < 2 * 86400) return std::to_string(age / 3600) + "h ago";
  return std::to_string(age / 86400) + "d ago";
}

}  // namespace modelcache::cli
