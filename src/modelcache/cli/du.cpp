// modelcache du [--json]: disk use: total, per model (bytes of the blobs its
// snapshots link, of which unique to it / shared with other models), partial
// downloads in tmp/, and blobs no snapshot uses (what prune frees).
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

void add_du(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("du", "Disk use per model, shared blobs, partial downloads");
  cmd->add_flag("--json", *json, "one JSON object");
  cmd->callback([json] {
    auto store = open_store();
    if (!store) {
      exit_status() = report_error(store.error());
      return;
    }
    auto inv = store::scan(*store);
    if (!inv) {
      exit_status() = report_error(inv.error());
      return;
    }
    std::map<std::string, std::set<std::string>> blobs_of;   // model -> blobs
    std::map<std::string, std::set<std::string>> models_of;  // blob -> models
    for (const auto& s : inv->snapshots) {
      for (const auto& b : s.blobs) {
        blobs_of[s.model].insert(b);
        models_of[b].insert(s.model);
      }
    }
    auto size_of = [&](const std::string& b) {
      auto it = inv->blob_bytes.find(b);
      return it == inv->blob_bytes.end() ? std::uint64_t{0} : it->second;
    };
    std::uint64_t unreferenced = 0;
    for (const auto& [b, n] : inv->blob_bytes) {
      if (!models_of.contains(b)) unreferenced += n;
    }
    struct Row {
      std::string model;
      std::uint64_t bytes = 0, unique = 0;
    };
    std::vector<Row> rows;
    for (const auto& [model, blobs] : blobs_of) {
      Row r{model};
      for (const auto& b : blobs) {
        r.bytes += size_of(b);
        if (models_of[b].size() == 1) r.unique += size_of(b);
      }
      rows.push_back(r);
    }
    const std::uint64_t total = inv->blobs_total() + inv->tmp_bytes;
    if (*json) {
      nlohmann::json models = nlohmann::json::array();
      for (const auto& r : rows) {
        models.push_back({{"model", r.model},
                          {"bytes", r.bytes},
                          {"unique", r.unique},
                          {"shared", r.bytes - r.unique}});
      }
      nlohmann::json out{{"total", total},
                         {"blobs", inv->blobs_total()},
                         {"tmp", inv->tmp_bytes},
                         {"unreferenced", unreferenced},
                         {"models", models}};
      std::printf("%s\n", out.dump().c_str());
      return;
    }
    std::printf("%-56s %10s %10s %10s\n", "MODEL", "SIZE", "UNIQUE", "SHARED");
    for (const auto& r : rows) {
      std::printf("%-56s %10s %10s %10s\n", r.model.c_str(), util::format_bytes(r.bytes).c_str(),
                  util::format_bytes(r.unique).c_str(),
                  util::format_bytes(r.bytes - r.unique).c_str());
    }
    std::printf("blobs %s (unreferenced %s), partial downloads %s, total %s\n",
                util::format_bytes(inv->blobs_total()).c_str(),
                util::format_bytes(unreferenced).c_str(),
                util::format_bytes(inv->tmp_bytes).c_str(), util::format_bytes(total).c_str());
  });
}

}  // namespace modelcache::cli
