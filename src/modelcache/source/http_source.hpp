// One file over plain HTTP(S): a HEAD (or a one-byte ranged GET where HEAD is
// refused) learns its size and validators. No credentials are sent: the Hub token
// belongs to the Hub, not to arbitrary hosts.
#pragma once

#include "core/config.hpp"
#include "source/source.hpp"

namespace modelcache::source {

class HttpSource final : public Source {
 public:
  explicit HttpSource(const core::Config& config);
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;

 private:
  core::TransferSettings transfer_;
};

// The last segment of the URL's path, percent-decoded; empty when the path ends in '/'.
std::string url_file_name(std::string_view url);

}  // namespace modelcache::source
