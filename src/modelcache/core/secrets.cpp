#include "core/secrets.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::core {

namespace {

std::string strip_trailing_newline(std::string value) {
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  return value;
}

Error empty_error(std::string_view name, std::string_view where) {
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("secret '{}' is empty (in {}): put the credential there", name, where)};
}

}  // namespace

Status validate_secret_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid secret name '{}': {}", util::url_encode(name, "-_.~"), why));
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 255) return bad("longer than 255 bytes");
  if (name.find('/') != std::string_view::npos) return bad("it contains '/'");
  if (name.find("..") != std::string_view::npos) return bad("it contains '..'");
  if (name == ".") return bad("it is '.'");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return bad("it contains a control character");
  }
  return {};
}

std::string secret_env_name(std::string_view name) {
  std::string out = "MODELCACHE_SECRET_";
  for (unsigned char c : name) {
    if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('_');
    }
  }
  return out;
}

std::filesystem::path secrets_dir() {
  if (auto dir = util::env("MODELCACHE_SECRETS_DIR")) return *dir;
  return "/secrets";
}

Result<std::string> resolve_secret(std::string_view name) {
  if (auto ok = validate_secret_name(name); !ok) return std::unexpected(ok.error());
  const std::string modelcache_var = secret_env_name(name);
  const std::string truss_var = "TRUSS_SECRET_" + std::string(name);
  for (const std::string* var : {&modelcache_var, &truss_var}) {
    // util::env treats an empty variable as unset: an exported-but-empty
    // variable falls through to the file, like an unset one.
    if (auto value = util::env(var->c_str())) {
      std::string v = strip_trailing_newline(std::move(*value));
      if (v.empty()) return std::unexpected(empty_error(name, "$" + *var));
      return v;
    }
  }
  const std::filesystem::path file = secrets_dir() / std::string(name);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return fail(ErrorCode::kNotFound,
                  fmt::format("secret '{}' not found: set {} or {}, or create the file {}", name,
                              modelcache_var, truss_var, file.string()));
    }
    return std::unexpected(util::errno_error("read secret file", file, err));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("secret '{}': {} is not a regular file", name, file.string()));
  }
  auto content = util::read_file(file);
  if (!content) return std::unexpected(content.error());
  std::string v = strip_trailing_newline(std::move(*content));
  if (v.empty()) return std::unexpected(empty_error(name, file.string()));
  return v;
}

}  // namespace modelcache::core
