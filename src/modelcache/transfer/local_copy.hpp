// file:// sources: a plain copy into the part file, hashed and checked exactly
// like a download, without curl.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "modelcache/error.hpp"
#include "transfer/engine.hpp"

namespace modelcache::transfer {

bool is_file_url(std::string_view url);
// "file:///a%20b" -> "/a b"; nullopt for a remote host or a relative path.
std::optional<std::filesystem::path> file_url_path(std::string_view url);

// Copies, verifies size and digest, fdatasyncs. `on_bytes` is told how many new
// bytes were copied, for progress.
Result<FetchResult> local_copy(const FetchRequest& request,
                               const std::function<void(std::uint64_t)>& on_bytes);

}  // namespace modelcache::transfer
