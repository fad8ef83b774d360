// Parsing of the Hub's JSON answers into RemoteFiles (path, size, digest, etag):
// the revision endpoint (commit sha, siblings) and tree pages. Pure functions, so
// malformed and hostile answers are easy to test. Paths are returned exactly as
// the Hub wrote them; validating them is the cache layer's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"
#include "source/source.hpp"

namespace modelcache::source {

// The 40-hex commit `sha` of a /api/{type}/{repo}/revision/{rev} answer.
Result<std::string> parse_revision_sha(std::string_view body);

// The files of one /tree/{commit}?recursive=true page (directories are skipped).
Result<std::vector<RemoteFile>> parse_tree_page(std::string_view body);

// The files of the `siblings` array of a revision answer; with ?blobs=true they
// carry size, blobId and lfs {sha256, size}, otherwise only rfilename.
Result<std::vector<RemoteFile>> parse_siblings(std::string_view body);

}  // namespace modelcache::source
