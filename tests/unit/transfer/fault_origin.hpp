// Starts tests/fixtures/fault_origin.py on 127.0.0.1 for a test suite, and
// reads its request log. Also the helpers the engine tests share.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "transfer/engine.hpp"
#include "util/hasher.hpp"

extern char** environ;

namespace mctest {

class FaultOrigin {
 public:
  explicit FaultOrigin(const std::filesystem::path& root) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::string script = std::string(MC_FIXTURES_DIR) + "/fault_origin.py";
    std::string root_s = root.string();
    const char* argv[] = {"/usr/bin/python3", script.c_str(), "--root", root_s.c_str(), nullptr};
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) throw std::runtime_error("cannot start fault_origin.py");
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 15000) > 0) {
      char buf[64];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (line.rfind("PORT ", 0) != 0) throw std::runtime_error("fault_origin.py did not start");
    port_ = std::stoi(line.substr(5));
  }
  ~FaultOrigin() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  FaultOrigin(const FaultOrigin&) = delete;
  FaultOrigin& operator=(const FaultOrigin&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  nlohmann::json log() const { return nlohmann::json::parse(get("__log")); }
  void reset() const { get("__reset"); }

 private:
  std::string get(const std::string& path) const {
    std::string body;
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url(path).c_str());
    curl_easy_setopt(
        c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
          static_cast<std::string*>(p)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) throw std::runtime_error("fault origin control request failed");
    return body;
  }

  pid_t pid_ = -1;
  int port_ = 0;
};

inline std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "bytes=a-b" -> [a, b+1); "bytes=a-" -> [a, size); nullopt without Range.
struct Requested {
  std::uint64_t begin, end;
};
inline std::optional<Requested> requested_range(const nlohmann::json& entry, std::uint64_t size) {
  if (entry["range"].is_null()) return std::nullopt;
  std::string r = entry["range"];
  auto dash = r.find('-');
  std::uint64_t a = std::stoull(r.substr(6, dash - 6));
  std::string b = r.substr(dash + 1);
  return Requested{a, b.empty() ? size : std::stoull(b) + 1};
}

}  // namespace mctest
