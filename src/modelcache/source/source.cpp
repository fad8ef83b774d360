#include "source/source.hpp"

#include <utility>

#include "source/azure_source.hpp"
#include "source/file_source.hpp"
#include "source/gcs_source.hpp"
#include "source/hf_source.hpp"
#include "source/http_source.hpp"
#include "source/s3_source.hpp"

namespace modelcache::source {

namespace {

using Factory = std::unique_ptr<Source> (*)(const core::Config&);

// The scheme table: one row per kind of reference parse_ref() knows.
constexpr std::pair<core::RefKind, Factory> kFactories[] = {
    {core::RefKind::kHuggingFace,
     [](const core::Config& c) -> std::unique_ptr<Source> {
       return std::make_unique<HfSource>(c);
     }},
    {core::RefKind::kHttp,
     [](const core::Config& c) -> std::unique_ptr<Source> {
       return std::make_unique<HttpSource>(c);
     }},
    {core::RefKind::kGcs,
     [](const core::Config& c) -> std::unique_ptr<Source> {
       return std::make_unique<GcsSource>(c);
     }},
    {core::RefKind::kS3,
     [](const core::Config& c) -> std::unique_ptr<Source> { return std::make_unique<S3Source>(c); }},
    {core::RefKind::kFile,
     [](const core::Config&) -> std::unique_ptr<Source> { return std::make_unique<FileSource>(); }},
    {core::RefKind::kAzure,
     [](const core::Config& c) -> std::unique_ptr<Source> {
       return std::make_unique<AzureSource>(c);
     }},
};

}  // namespace

Result<std::unique_ptr<Source>> make_source(const core::ModelRef& ref, const core::Config& config) {
  for (const auto& [kind, factory] : kFactories) {
    if (kind == ref.kind) return factory(config);
  }
  return fail(ErrorCode::kInvalidRef, "no origin handles " + ref.id());
}

}  // namespace modelcache::source
