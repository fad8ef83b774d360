#include "runtime/mapped_file.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <vector>

#include "util/fs.hpp"

namespace modelcache::runtime {

namespace {

// Reads one byte per page so that each page is mapped; several workers because a
// fault costs a few hundred nanoseconds of kernel time that does not parallelise
// inside one thread.
void touch_pages(const std::byte* data, std::uint64_t size) {
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t pages = (size + page - 1) / page;
  const unsigned workers = static_cast<unsigned>(std::clamp<std::uint64_t>(
      pages / 4096, 1, std::max(1u, std::thread::hardware_concurrency())));
  std::vector<std::jthread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([=] {
      volatile std::byte sink{};
      for (std::uint64_t p = pages * w / workers; p < pages * (w + 1) / workers; ++p)
        sink = data[p * page];
      (void)sink;
    });
  }
}

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::map(int fd, std::uint64_t size,
                                                          const std::filesystem::path& path,
                                                          PrefaultMethod prefault) {
  int flags = MAP_SHARED;
  if (prefault == PrefaultMethod::kPopulate) flags |= MAP_POPULATE;
  void* p = ::mmap(nullptr, size, PROT_READ, flags, fd, 0);
  if (p == MAP_FAILED) return std::unexpected(util::errno_error("map", path, errno));
  auto* data = static_cast<const std::byte*>(p);
  if (prefault == PrefaultMethod::kTouch) {
    ::madvise(p, size, MADV_WILLNEED);  // only advice: a failure costs speed, not correctness
    touch_pages(data, size);
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(data, size));
}

MappedFile::~MappedFile() { ::munmap(const_cast<std::byte*>(data_), size_); }

}  // namespace modelcache::runtime
