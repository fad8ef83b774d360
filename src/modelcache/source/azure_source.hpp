// Azure Blob Storage: az://ACCOUNT/CONTAINER[/PREFIX] (also azure://).
//
// Lists the container with List Blobs (restype=container&comp=list, `prefix`,
// `maxresults` = MODELCACHE_LIST_PAGE_SIZE, following NextMarker), signed with
// SharedKey, a SAS, or nothing for public containers (azure_auth.hpp says where
// credentials and the endpoint come from). Each blob becomes a RemoteFile whose
// URL carries a SAS (the user's, or a read-only one made from the account key,
// valid kDownloadSasLifetime) so that the engine's ranged GETs need no header
// signature; Content-MD5, when the blob has one, is the promised digest.
//
// Which blobs (as for s3:// and gs://): PREFIX empty -> the whole container;
// otherwise PREFIX is a directory (PREFIX + '/' unless it ends in '/'), so that
// az://a/c/model never picks up az://a/c/model-v2/...; only when nothing is below
// it and a blob is named exactly PREFIX is that blob the one file (its basename is
// the path). Names ending in '/' (directory markers) are skipped. File paths are
// relative to the directory.
//
// The snapshot id hashes the sorted (name, size, ETag) of the chosen blobs: a
// changed blob gives a new snapshot, an unchanged prefix the same one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "net/http_client.hpp"
#include "source/azure_auth.hpp"
#include "source/source.hpp"

namespace modelcache::source {

// A download SAS outlives any download (the engine re-asks the same URL on 401/403).
inline constexpr std::chrono::hours kDownloadSasLifetime{24};

struct AzureBlob {
  std::string name;
  std::uint64_t size = 0;
  std::string etag;
  std::string last_modified;
  std::string md5_hex;  // from Content-MD5 (base64); empty when the blob has none
};

struct AzureBlobPage {
  std::vector<AzureBlob> blobs;
  std::string next_marker;  // empty on the last page
};

// One List Blobs response body (EnumerationResults).
Result<AzureBlobPage> parse_azure_blob_list(std::string_view xml);

// The storage error code of a failed response: the x-ms-error-code header, else
// the <Code> of the XML body, else empty. Never the message or the
// AuthenticationErrorDetail (which quotes the request's signature).
std::string azure_error_code(const net::HttpResponse& response);

// One line for a failed List Blobs: what went wrong and what to fix.
Error azure_list_error(long status, std::string_view code, std::string_view subject,
                       std::string_view container, const azure::Credentials& credentials);

// The blobs that `prefix` selects (see above) and each one's path under it.
struct SelectedBlob {
  const AzureBlob* blob;
  std::string path;
};
std::vector<SelectedBlob> select_azure_blobs(const std::vector<AzureBlob>& blobs,
                                             std::string_view prefix);

class AzureSource final : public Source {
 public:
  explicit AzureSource(const core::Config& config);  // environment read at list()
  AzureSource(const core::Config& config, azure::Environment env);
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;

 private:
  core::TransferSettings transfer_;
  int page_size_;
  std::optional<azure::Environment> env_;
};

}  // namespace modelcache::source
