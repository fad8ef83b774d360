#include "package/negotiate.hpp"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "package/package_manifest.hpp"
#include "util/strings.hpp"

namespace modelcache::package {

namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ",") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// Position in the requested list, else in the default order; names in neither
// rank after, by name (the name is the second half of the key).
std::pair<std::size_t, std::string> preference(const std::string& name, const std::vector<std::string>& requested,
                                               const std::vector<std::string>& fallback) {
  const auto& order = requested.empty() ? fallback : requested;
  auto it = std::find(order.begin(), order.end(), name);
  if (it != order.end()) return {static_cast<std::size_t>(it - order.begin()), ""};
  return {order.size() + (name.empty() ? 1 : 0), name};
}

bool needs_gpu(const Package& p) { return p.cuda.has_value() || p.backend == "trt"; }

std::string batch_text(const Package& p) {
  if (!p.batch) return "any batch";
  if (p.batch->is_static) return "static batch " + std::to_string(p.batch->min);
  return "batch " + std::to_string(p.batch->min) + ".." +
         (p.batch->max == UINT32_MAX ? std::string("any") : std::to_string(p.batch->max));
}

std::string cc_range(const CudaNeeds& c) {
  std::string out = c.min_cc ? ">= " + format_compute_capability(c.min_cc) : std::string("any");
  if (c.max_cc) out = format_compute_capability(c.min_cc) + ".." + format_compute_capability(*c.max_cc);
  return "compute capability " + out;
}

// Why `p` cannot be used, or nullopt: rules 1-5 of doc/PACKAGES.md, in order.
std::optional<std::string> drop_reason(const Package& p, const PackageRequest& r, const MachineInfo& m) {
  if (!r.backends.empty() && std::find(r.backends.begin(), r.backends.end(), p.backend) == r.backends.end()) {
    return "backend " + p.backend + " not requested (--backend " + join(r.backends) + ")";
  }
  if (!r.quantizations.empty() &&
      std::find(r.quantizations.begin(), r.quantizations.end(), p.quantization) == r.quantizations.end()) {
    return "quantization " + (p.quantization.empty() ? std::string("(none)") : p.quantization) +
           " not requested (--quantization " + join(r.quantizations) + ")";
  }
  if (r.batch_size && p.batch && (*r.batch_size < p.batch->min || *r.batch_size > p.batch->max)) {
    return "batch size " + std::to_string(*r.batch_size) + " does not fit its " + batch_text(p);
  }
  if (needs_gpu(p)) {
    CudaNeeds c = p.cuda.value_or(CudaNeeds{});
    std::string why = p.cuda ? "needs a CUDA GPU with " + cc_range(c) : "backend trt needs a CUDA GPU";
    if (m.gpus.empty()) return why + ", none found";
    bool fits = std::any_of(m.gpus.begin(), m.gpus.end(), [&](const std::string& g) {
      int cc = parse_compute_capability(g).value_or(0);
      return cc >= c.min_cc && (!c.max_cc || cc <= *c.max_cc);
    });
    if (!fits) return why + ", this machine has " + join(m.gpus);
  }
  std::vector<std::string> missing;
  for (const auto& f : p.cpu_features) {
    if (std::find(m.cpu_features.begin(), m.cpu_features.end(), f) == m.cpu_features.end()) missing.push_back(f);
  }
  if (!missing.empty()) return "needs CPU feature(s) " + join(missing) + ", which this machine lacks";
  return std::nullopt;
}

using Preference = std::pair<std::size_t, std::string>;
using RankKey = std::tuple<Preference, std::size_t, int, Preference, int, std::string>;

// Rules 6-11 of doc/PACKAGES.md: the smaller key wins. An explicit
// --quantization ranks before the GPU rule; the default order only after it,
// so a GPU machine prefers the package that uses its GPU unless told otherwise.
RankKey rank_key(const Package& p, const PackageRequest& r, const MachineInfo& m) {
  std::size_t asked_quant = r.quantizations.empty() ? 0 : preference(p.quantization, r.quantizations, {}).first;
  int gpu = (!m.gpus.empty() && !needs_gpu(p)) ? 1 : 0;
  int batch = 0;
  bool is_static = p.batch && p.batch->is_static;
  if (r.batch_size) batch = is_static ? 0 : 1;  // an exact static match first
  else batch = is_static ? 1 : 0;               // else packages taking any size first
  return {preference(p.backend, r.backends, default_backend_order()), asked_quant, gpu,
          preference(p.quantization, {}, default_quantization_order()), batch, p.id};
}

std::string kept_text(const Package& p, const MachineInfo& m) {
  std::string q = p.quantization.empty() ? "" : " " + p.quantization;
  std::string dev = needs_gpu(p) ? ", GPU" : (m.gpus.empty() ? ", CPU" : ", CPU (a GPU is present)");
  return p.backend + q + ", " + batch_text(p) + dev;
}

}  // namespace

const std::vector<std::string>& default_backend_order() {
  static const std::vector<std::string> order{"trt", "onnx", "safetensors", "torch", "gguf"};
  return order;
}

const std::vector<std::string>& default_quantization_order() {
  static const std::vector<std::string> order{"fp32", "bf16", "fp16", "int8", "int4"};
  return order;
}

Result<PackageRequest> normalize_request(const PackageRequest& request) {
  PackageRequest out;
  out.batch_size = request.batch_size;
  if (out.batch_size && *out.batch_size == 0) {
    return fail(ErrorCode::kInvalidArgument, "--batch-size must be at least 1");
  }
  auto norm = [](const std::vector<std::string>& in, std::vector<std::string>& dst, const char* flag) -> Status {
    for (const auto& item : in) {
      for (const auto& part : util::split(item, ',')) {  // "--backend onnx,trt" works too
        std::string v = util::to_lower(util::trim(part));
        if (v.empty()) return fail(ErrorCode::kInvalidArgument, std::string(flag) + " needs a name");
        if (std::find(dst.begin(), dst.end(), v) == dst.end()) dst.push_back(v);
      }
    }
    return {};
  };
  if (auto s = norm(request.backends, out.backends, "--backend"); !s) return std::unexpected(s.error());
  if (auto s = norm(request.quantizations, out.quantizations, "--quantization"); !s) {
    return std::unexpected(s.error());
  }
  return out;
}

Negotiation negotiate(const PackageSet& set, const PackageRequest& request, const MachineInfo& machine) {
  Negotiation n;
  std::vector<std::size_t> kept;
  std::vector<PackageCandidate> dropped;
  for (std::size_t i = 0; i < set.packages.size(); ++i) {
    const auto& p = set.packages[i];
    if (auto why = drop_reason(p, request, machine)) {
      dropped.push_back(PackageCandidate{p.id, p.backend, p.quantization, false, 0, *why});
    } else {
      kept.push_back(i);
    }
  }
  std::stable_sort(kept.begin(), kept.end(), [&](std::size_t a, std::size_t b) {
    return rank_key(set.packages[a], request, machine) < rank_key(set.packages[b], request, machine);
  });
  for (std::size_t r = 0; r < kept.size(); ++r) {
    const auto& p = set.packages[kept[r]];
    n.candidates.push_back(
        PackageCandidate{p.id, p.backend, p.quantization, true, static_cast<int>(r + 1), kept_text(p, machine)});
  }
  if (!kept.empty()) n.winner = kept.front();
  n.candidates.insert(n.candidates.end(), dropped.begin(), dropped.end());
  return n;
}

std::string describe_dropped(const Negotiation& n) {
  std::string out;
  for (const auto& c : n.candidates) {
    if (!c.kept) out += (out.empty() ? "" : "; ") + c.id + ": " + c.reason;
  }
  return out;
}

}  // namespace modelcache::package
