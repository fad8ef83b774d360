// Helpers shared by the management subcommands (du, rm, gc, prune, purge).
#pragma once

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "modelcache/error.hpp"
#include "store/gc.hpp"
#include "store/store.hpp"
#include "store/usage.hpp"

namespace modelcache::cli {

// The store at the configured root (same resolution as Cache::open).
Result<store::Store> open_store();
Result<store::Store> open_store(const core::Config& config);
// One summary line (or one JSON object with --json); leased snapshots on stderr.
void print_report(std::string_view verb, const store::ManageReport& report, bool json);
// "3h ago", "never".
std::string format_age(std::int64_t unix_seconds);

}  // namespace modelcache::cli
