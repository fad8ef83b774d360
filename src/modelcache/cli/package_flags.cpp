#include "cli/package_flags.hpp"

#include "core/model_ref.hpp"
#include "core/secrets.hpp"

namespace modelcache::cli {

void add_package_filter_flags(CLI::App& cmd, PackageFlags& flags) {
  cmd.add_option("--backend", flags.backends,
                 "acceptable backends, preferred first (repeatable or comma-separated: onnx,trt)");
  cmd.add_option("--quantization", flags.quantizations,
                 "acceptable quantizations, preferred first (repeatable or comma-separated: fp16,fp32)");
  cmd.add_option("--batch-size", flags.batch_size, "the batch size the package must accept")
      ->check(CLI::Range(1u, 1000000u));
}

PackageRequest to_request(const PackageFlags& flags) {
  return PackageRequest{flags.backends, flags.quantizations, flags.batch_size};
}

Status apply_credentials(const std::string& ref, const std::string& token, const std::string& secret,
                         PullOptions& options) {
  if (!token.empty()) options.token = token;
  if (secret.empty()) return {};
  auto value = core::resolve_secret(secret);
  if (!value) return std::unexpected(value.error());
  auto parsed = core::parse_ref(ref);
  if (parsed && parsed->kind == core::RefKind::kHuggingFace) {
    if (!options.token) options.token = std::move(*value);
  } else {
    options.secret = std::move(*value);
  }
  return {};
}

}  // namespace modelcache::cli
