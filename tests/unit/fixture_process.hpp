// Runs a Python fixture server (tests/fixtures/*.py) for the length of a test
// suite: starts `/usr/bin/python3 SCRIPT ARGS...`, waits for the line
// "PORT <n>" on its stdout, and stops it in the destructor. Lines printed before
// it as "KEY VALUE" (e.g. "LFS_PORT 4711") are kept for value(). The child gets
// PR_SET_PDEATHSIG, so a crashed test binary does not leave servers behind.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mctest {

class FixtureProcess {
 public:
  FixtureProcess(const std::string& script, const std::vector<std::string>& args,
                 std::chrono::seconds startup_timeout = std::chrono::seconds(20)) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      error_ = "pipe failed";
      return;
    }
    std::vector<std::string> argv_s = {"/usr/bin/python3", script};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out[1], STDOUT_FILENO);
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_fd_ = out[0];
    if (pid_ < 0) {
      error_ = "fork failed";
      return;
    }
    read_until_port(startup_timeout);
  }

  FixtureProcess(const FixtureProcess&) = delete;
  FixtureProcess& operator=(const FixtureProcess&) = delete;

  ~FixtureProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  bool ok() const { return port_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::optional<std::string> value(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void read_until_port(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buffer;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char chunk[512];
      ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) {
        error_ = "fixture exited before printing PORT (see its stderr above)";
        return;
      }
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        auto space = line.find(' ');
        if (space == std::string::npos) continue;
        values_[line.substr(0, space)] = line.substr(space + 1);
        if (line.starts_with("PORT ")) {
          port_ = std::stoi(line.substr(5));
          return;
        }
      }
    }
    error_ = "fixture printed no PORT line in time";
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  std::string error_;
  std::map<std::string, std::string> values_;
};

}  // namespace mctest
