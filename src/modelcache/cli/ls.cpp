// modelcache ls [--json]: cached snapshots with their sizes and when each was last used.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "modelcache/cache.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

void add_ls(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("ls", "List cached snapshots");
  cmd->add_flag("--json", *json, "one JSON array");
  cmd->callback([json] {
    auto cache = Cache::open();
    if (!cache) {
      exit_status() = report_error(cache.error());
      return;
    }
    auto snaps = cache->list();
    if (!snaps) {
      exit_status() = report_error(snaps.error());
      return;
    }
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : *snaps) {
        out.push_back({{"model", s.model}, {"snapshot", s.snapshot_id}, {"revisions", s.revisions},
                       {"path", s.path.string()}, {"bytes", s.bytes}, {"files", s.files},
                       {"last_used", s.last_used}});
      }
      std::printf("%s\n", out.dump().c_str());
      return;
    }
    std::printf("%-48s %-14s %-16s %10s %6s %10s\n", "MODEL", "SNAPSHOT", "REVISIONS", "SIZE", "FILES",
                "LAST USED");
    for (const auto& s : *snaps) {
      std::string revs;
      for (const auto& r : s.revisions) revs += (revs.empty() ? "" : ",") + r;
      std::printf("%-48s %-14s %-16s %10s %6zu %10s\n", s.model.c_str(), s.snapshot_id.substr(0, 12).c_str(),
                  revs.empty() ? "-" : revs.c_str(), util::format_bytes(s.bytes).c_str(), s.files,
                  format_age(s.last_used).c_str());
    }
  });
}

}  // namespace modelcache::cli
