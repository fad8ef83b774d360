#include "source/link_header.hpp"

#include "net/http_client.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

std::string scheme_of(std::string_view url) {
  auto end = url.find("://");
  return end == std::string_view::npos ? std::string() : util::to_lower(url.substr(0, end));
}

// "rel" parameter values of one link-value's parameter list: `; rel="next last"`.
bool rel_has_next(std::string_view params) {
  for (const auto& raw : util::split(params, ';')) {
    std::string_view p = util::trim(raw);
    auto eq = p.find('=');
    if (eq == std::string_view::npos || !util::iequals(util::trim(p.substr(0, eq)), "rel")) {
      continue;
    }
    std::string_view value = util::trim(p.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    for (const auto& word : util::split(value, ' ')) {
      if (util::iequals(word, "next")) return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> next_link(std::string_view header_value) {
  std::string_view rest = header_value;
  for (;;) {
    auto open = rest.find('<');
    if (open == std::string_view::npos) return std::nullopt;
    auto close = rest.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view target = rest.substr(open + 1, close - open - 1);
    rest.remove_prefix(close + 1);
    // Parameters run to the next link-value; a ',' inside quotes is not a separator.
    std::size_t end = 0;
    bool quoted = false;
    for (; end < rest.size(); ++end) {
      if (rest[end] == '"') quoted = !quoted;
      if (rest[end] == ',' && !quoted) break;
    }
    if (rel_has_next(rest.substr(0, end))) return std::string(util::trim(target));
    rest.remove_prefix(end);
  }
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  if (reference.find("://") != std::string_view::npos &&
      reference.find("://") < reference.find_first_of("/?#")) {
    return std::string(reference);
  }
  std::string scheme = scheme_of(base);
  if (reference.starts_with("//")) return scheme + ":" + std::string(reference);
  auto host_start = base.find("://");
  host_start = host_start == std::string_view::npos ? 0 : host_start + 3;
  auto path_start = base.find_first_of("/?#", host_start);
  std::string_view origin = base.substr(0, path_start);
  if (reference.starts_with("/")) return std::string(origin) + std::string(reference);
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (reference.starts_with("./")) reference.remove_prefix(2);
  return out + "/" + std::string(reference);
}

bool same_origin(std::string_view a, std::string_view b) {
  return scheme_of(a) == scheme_of(b) && !scheme_of(a).empty() &&
         net::url_authority(a) == net::url_authority(b);
}

}  // namespace modelcache::source
