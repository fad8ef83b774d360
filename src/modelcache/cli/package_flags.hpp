// Flags shared by `pull` and `resolve` for model packages (doc/PACKAGES.md), and
// the --token/--secret handling both use.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "modelcache/cache.hpp"

namespace modelcache::cli {

struct PackageFlags {
  std::vector<std::string> backends;
  std::vector<std::string> quantizations;
  std::optional<std::uint32_t> batch_size;
};

void add_package_filter_flags(CLI::App& cmd, PackageFlags& flags);
PackageRequest to_request(const PackageFlags& flags);

// --token, and --secret NAME: a Hub ref takes the secret as its token (unless
// --token is given too); other origins read the secret's own format.
Status apply_credentials(const std::string& ref, const std::string& token, const std::string& secret,
                         PullOptions& options);

}  // namespace modelcache::cli
