// Named secrets (Truss `runtime_secret_name` / `auth_secret_name`, `pull --secret`):
// a NAME resolves to its value from, in order,
//   1. env MODELCACHE_SECRET_<NAME>  (NAME upper-cased, every non-alphanumeric -> '_')
//   2. env TRUSS_SECRET_<name>       (the name as given, as Truss exports it)
//   3. the file <dir>/<name>, dir = MODELCACHE_SECRETS_DIR or /secrets (Truss mounts
//      secrets there)
// One trailing newline (LF or CRLF) is trimmed: files written by `echo` end in one.
// These variables are read here rather than in core/config.cpp because their names
// are only known once a config names a secret.
// Errors name the secret and where it was looked for, never a value.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::core {

// Non-empty, at most 255 bytes, no '/', no "..", no NUL or control characters:
// the name becomes a file name under the secrets directory.
Status validate_secret_name(std::string_view name);

// "MODELCACHE_SECRET_HF_ACCESS_TOKEN" for "hf-access.token".
std::string secret_env_name(std::string_view name);

// MODELCACHE_SECRETS_DIR, else /secrets.
std::filesystem::path secrets_dir();

// The value of the secret `name`. kNotFound when no source has it, kInvalidArgument
// for a bad name or an empty value, kIo when the file exists but cannot be read.
Result<std::string> resolve_secret(std::string_view name);

}  // namespace modelcache::core
