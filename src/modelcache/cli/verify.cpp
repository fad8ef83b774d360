// modelcache verify [REF] [--repair]: re-hash blobs, name each corrupt one,
// exit 1 if any; --repair removes them so the next pull fetches them again.
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "modelcache/cache.hpp"

namespace modelcache::cli {

namespace {
struct VerifyArgs {
  std::string ref;
  bool repair = false;
};
}  // namespace

void add_verify(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "Re-hash cached blobs and report corrupt ones");
  cmd->add_option("ref", args->ref, "only the blobs of this model (default: all)");
  cmd->add_flag("--repair", args->repair, "remove corrupt blobs so that the next pull fetches them");
  cmd->callback([args] {
    auto cache = Cache::open();
    if (!cache) {
      exit_status() = report_error(cache.error());
      return;
    }
    auto bad = cache->verify(args->ref, args->repair ? VerifyMode::kRepair : VerifyMode::kReport);
    if (!bad) {
      exit_status() = report_error(bad.error());
      return;
    }
    for (const auto& b : *bad) {
      std::printf("corrupt blob sha256:%s: %s%s\n", b.sha256.c_str(), b.reason.c_str(),
                  args->repair && b.reason != "missing" ? " (removed)" : "");
      for (const auto& u : b.used_by) std::printf("  used by %s\n", u.c_str());
    }
    if (bad->empty()) {
      std::printf("ok: all blobs verified\n");
    } else {
      std::fprintf(stderr, "modelcache: error: %zu corrupt blob(s)%s\n", bad->size(),
                   args->repair ? "; removed, run pull again to fetch them" : "; run verify --repair");
      exit_status() = 1;
    }
  });
}

}  // namespace modelcache::cli
