// What the Hub says about a file of a snapshot, rebuilt from our manifest: LFS
// files are those the Hub gave a sha256 for (their git oid is the pointer's),
// the others carry their git blob sha1. Shared by the tree, paths-info, repo
// info and resolve routes.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"
#include "server/http_message.hpp"
#include "store/manifest.hpp"

namespace modelcache::server {

struct HubFileInfo {
  bool lfs = false;
  std::string oid;     // git blob id (of the pointer for LFS files)
  std::string sha256;  // content sha256 (the blob's name)
  std::uint64_t size = 0;
  std::uint64_t pointer_size = 0;  // LFS only
};

HubFileInfo hub_file_info(const store::ManifestEntry& entry);

// The git LFS pointer text the Hub stores for a large file.
std::string lfs_pointer(std::string_view sha256, std::uint64_t size);

// Tree / paths-info JSON of a file or a directory (`expand`: lastCommit too).
nlohmann::json file_json(const store::ManifestEntry& entry, std::string_view commit, std::string_view date,
                         bool expand);
nlohmann::json directory_json(std::string_view path);

// Every directory that holds a file of `manifest`, sorted.
std::vector<std::string> directories_of(const store::Manifest& manifest);

// "2024-01-01T00:00:00.000Z"
std::string iso_date(std::int64_t unix_seconds);

// A pull-through failure as the Hub would answer it (status, X-Error-Code, JSON).
HttpResponse pull_error_response(const Error& error);

}  // namespace modelcache::server
