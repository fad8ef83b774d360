// SafetensorsFile::open: finds the checkpoint, validates every header before
// mapping, and assembles one table from a file or the shards of an index.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "modelcache/safetensors.hpp"
#include "runtime/mapped_file.hpp"
#include "runtime/safetensors_header.hpp"
#include "runtime/safetensors_index.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache {

namespace {

namespace fs = std::filesystem;
using runtime::Header;
using runtime::MappedFile;
using runtime::PrefaultMethod;

constexpr std::string_view kIndexSuffix = ".safetensors.index.json";
constexpr std::string_view kFileSuffix = ".safetensors";

struct LoadedFile {
  std::shared_ptr<const MappedFile> mapping;
  Header header;
  std::uint64_t data_offset = 0;  // 8 + N
};

std::string label_of(const fs::path& path) { return util::printable(path.string(), 400); }

Status pread_all(int fd, void* buffer, std::size_t size, std::uint64_t offset,
                 const fs::path& path) {
  auto* out = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(util::errno_error("read", path, errno));
    if (n == 0) return fail(ErrorCode::kIo, label_of(path) + ": the file shrank while it was read");
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<util::UniqueFd> open_regular(const fs::path& path, std::uint64_t& size) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT) return fail(ErrorCode::kNotFound, label_of(path) + ": no such file");
    return std::unexpected(util::errno_error("open", path, err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(util::errno_error("stat", path, errno));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, label_of(path) + ": not a regular file");
  size = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

// The header is read with pread and validated whole before the file is mapped,
// so a corrupt file is never mapped (nor prefaulted).
Result<LoadedFile> load_file(const fs::path& path, PrefaultMethod prefault) {
  std::uint64_t size = 0;
  auto fd = open_regular(path, size);
  if (!fd) return std::unexpected(fd.error());
  const std::string label = label_of(path);
  std::array<std::byte, 8> prefix{};
  if (size >= prefix.size()) {
    if (auto ok = pread_all(fd->get(), prefix.data(), prefix.size(), 0, path); !ok)
      return std::unexpected(ok.error());
  }
  auto n = runtime::header_length(prefix, size, label);
  if (!n) return std::unexpected(n.error());
  std::string text(*n, '\0');
  if (auto ok = pread_all(fd->get(), text.data(), text.size(), 8, path); !ok)
    return std::unexpected(ok.error());
  auto header = runtime::parse_header(text, size - 8 - *n, label);
  if (!header) return std::unexpected(header.error());
  auto mapping = MappedFile::map(fd->get(), size, path, prefault);
  if (!mapping) return std::unexpected(mapping.error());
  return LoadedFile{std::move(*mapping), std::move(*header), 8 + *n};
}

// A directory names its checkpoint: the index if there is one, else its only
// `.safetensors` file.
Result<fs::path> find_checkpoint(const fs::path& dir) {
  std::vector<std::string> indexes, files;
  for (auto& name : util::list_dir(dir)) {
    if (name.ends_with(kIndexSuffix))
      indexes.push_back(name);
    else if (name.ends_with(kFileSuffix))
      files.push_back(name);
  }
  if (indexes.size() == 1) return dir / indexes[0];
  if (std::ranges::find(indexes, "model.safetensors.index.json") != indexes.end()) {
    return dir / "model.safetensors.index.json";
  }
  const std::string label = label_of(dir);
  if (indexes.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, label +
                                                 ": several *.safetensors.index.json and none is "
                                                 "model.safetensors.index.json; name one");
  }
  if (files.size() == 1) return dir / files[0];
  if (files.empty())
    return fail(ErrorCode::kNotFound, label + ": no *.safetensors file or index in this directory");
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("{}: {} .safetensors files and no index; name the file to load", label,
                          files.size()));
}

PrefaultMethod method_for(Prefault prefault) {
  return prefault == Prefault::kYes ? PrefaultMethod::kPopulate : PrefaultMethod::kNone;
}

// Every tensor of a shard is where the weight_map says, and nowhere else; with
// unique names per shard this also refuses a tensor stored in two shards.
Status check_shard(const runtime::ShardIndex& index, const std::string& shard, const Header& header,
                   std::string_view label) {
  for (const auto& entry : header.tensors) {
    auto it = index.weight_map.find(entry.name);
    if (it == index.weight_map.end()) {
      return fail(ErrorCode::kIntegrity,
                  fmt::format("{}: tensor '{}' of shard '{}' is not in the weight_map", label,
                              util::printable(entry.name), util::printable(shard)));
    }
    if (it->second != shard) {
      return fail(ErrorCode::kIntegrity,
                  fmt::format("{}: tensor '{}' is in shard '{}' but the weight_map puts it in '{}'",
                              label, util::printable(entry.name), util::printable(shard),
                              util::printable(it->second)));
    }
  }
  return {};
}

// The shards of an index, each checked against the weight_map as it is loaded.
Result<std::vector<std::pair<fs::path, LoadedFile>>> load_shards(const fs::path& index_path,
                                                                 PrefaultMethod prefault) {
  const std::string label = label_of(index_path);
  auto text = util::read_file(index_path);
  if (!text) {
    if (!util::exists(index_path)) return fail(ErrorCode::kNotFound, label + ": no such file");
    return std::unexpected(text.error());
  }
  auto index = runtime::parse_index(*text, label);
  if (!index) return std::unexpected(index.error());
  std::vector<std::pair<fs::path, LoadedFile>> loaded;
  std::size_t tensors = 0;
  for (const auto& shard : index->shards) {
    fs::path shard_path = index_path.parent_path() / shard;
    if (!util::exists(shard_path)) {
      return fail(ErrorCode::kNotFound,
                  fmt::format("{}: shard '{}' named by the weight_map is missing next to the index",
                              label, util::printable(shard)));
    }
    auto file = load_file(shard_path, prefault);
    if (!file) return std::unexpected(file.error());
    if (auto ok = check_shard(*index, shard, file->header, label); !ok)
      return std::unexpected(ok.error());
    tensors += file->header.tensors.size();
    loaded.emplace_back(std::move(shard_path), std::move(*file));
  }
  // Every shard tensor is in the weight_map, so fewer tensors than entries means
  // an entry whose shard lacks it: name the first.
  if (tensors != index->weight_map.size()) {
    for (const auto& [name, shard] : index->weight_map) {
      bool found = std::ranges::any_of(loaded, [&](const auto& f) {
        return std::ranges::binary_search(f.second.header.tensors, name, {},
                                          &runtime::TensorEntry::name);
      });
      if (!found) {
        return fail(ErrorCode::kIntegrity,
                    fmt::format("{}: tensor '{}' is not in its shard '{}'", label,
                                util::printable(name), util::printable(shard)));
      }
    }
  }
  return loaded;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const fs::path& path, const LoadOptions& options) {
  fs::path target = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto found = find_checkpoint(path);
    if (!found) return std::unexpected(found.error());
    target = *found;
  }
  std::vector<std::pair<fs::path, LoadedFile>> loaded;
  if (target.filename().string().ends_with(kIndexSuffix)) {
    auto shards = load_shards(target, method_for(options.prefault));
    if (!shards) return std::unexpected(shards.error());
    loaded = std::move(*shards);
  } else {
    auto file = load_file(target, method_for(options.prefault));
    if (!file) return std::unexpected(file.error());
    loaded.emplace_back(target, std::move(*file));
  }
  SafetensorsFile out;
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    auto& [file_path, file] = loaded[i];
    const std::byte* data = file.mapping->data() + file.data_offset;
    for (auto& entry : file.header.tensors) {
      out.tensors_.push_back(Tensor{std::move(entry.name), entry.dtype, std::move(entry.shape),
                                    data + entry.begin, entry.end - entry.begin, i});
    }
    out.metadata_.merge(file.header.metadata);  // keeps the first shard's value on a conflict
    out.files_.push_back(file_path);
    out.mapped_bytes_ += file.mapping->size();
    out.mappings_.push_back(std::move(file.mapping));
  }
  std::ranges::sort(out.tensors_, {}, &Tensor::name);
  return out;
}

const Tensor* SafetensorsFile::find(std::string_view name) const {
  auto it = std::ranges::lower_bound(tensors_, name, {}, &Tensor::name);
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::uint64_t SafetensorsFile::tensor_bytes() const {
  std::uint64_t total = 0;
  for (const auto& t : tensors_) total += t.bytes;
  return total;
}

}  // namespace modelcache
