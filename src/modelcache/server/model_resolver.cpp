#include "server/model_resolver.hpp"

#include "core/model_ref.hpp"

namespace modelcache::server {

manager::Resolver pull_resolver(PullThrough& pulls) {
  return [&pulls](const std::string& id) -> Result<manager::ResolvedModel> {
    auto ref = core::parse_ref(id);
    if (!ref) return std::unexpected(ref.error());
    PullOptions options;
    options.package = "auto";
    auto snapshot = pulls.pull(id, *ref, std::move(options));
    if (!snapshot) return std::unexpected(snapshot.error());
    std::uint64_t bytes = 0;
    for (const auto& f : snapshot->files) bytes += f.size;
    return manager::ResolvedModel{snapshot->path, bytes, std::move(snapshot->lease)};
  };
}

}  // namespace modelcache::server
