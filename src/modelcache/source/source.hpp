// A Source turns a model reference into an immutable listing: the snapshot id,
// and for every file its path, size, the digest the origin promises, and how to
// GET its bytes. Sources do network I/O for metadata only; they never touch the
// store. One implementation per origin kind; make_source() is the scheme table.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/digest.hpp"
#include "core/model_ref.hpp"
#include "modelcache/error.hpp"

namespace modelcache::source {

inline constexpr std::uint64_t kUnknownSize = ~0ull;

struct RemoteFile {
  std::string path;  // relative, '/'-separated, as the origin names it (NOT yet validated)
  std::uint64_t size = kUnknownSize;
  std::optional<core::Digest> digest;  // what the origin promises, checked after download
  std::string url;                     // where to GET the bytes (http(s):// or file://)
  std::vector<std::string> headers;    // extra request headers, e.g. Authorization
  // Fresh headers for each request of the download, when the origin's signature
  // dates itself (S3 SigV4, Azure SharedKey); replaces `headers` when set.
  std::function<std::vector<std::string>()> sign;
  std::string etag;                    // recorded in the manifest
  std::string last_modified;
};

struct Listing {
  std::string snapshot_id;  // hf: 40-hex commit; others: derived id (hex)
  std::string revision;     // what was asked for (branch, tag, commit)
  std::vector<RemoteFile> files;
};

struct ListOptions {
  std::optional<std::string> token;  // already resolved from flags / env
  // The value of a named secret (runtime_secret_name / auth_secret_name), whose
  // format each origin reads: a Hub token as text; AWS JSON {aws_access_key_id,
  // aws_secret_access_key, aws_region?, aws_session_token?}; a GCS service-account
  // JSON; Azure JSON {account_key} or a SAS. Never logged or echoed in errors.
  std::optional<std::string> secret;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) = 0;
};

Result<std::unique_ptr<Source>> make_source(const core::ModelRef& ref, const core::Config& config);

}  // namespace modelcache::source
