// A small HTTP/1.1 server on POSIX sockets: one thread accepts, one thread per
// connection reads requests (keep-alive), calls the handler and writes the
// answer, file bodies with sendfile(2). Written here rather than taken from
// cpp-httplib because Debian ships that only as a shared library built against
// shared libstdc++/libssl (our binary links both statically, see CMakeLists.txt)
// and its 0.11 API gives no access to the socket for sendfile.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "modelcache/error.hpp"
#include "server/http_message.hpp"
#include "util/fs.hpp"

namespace modelcache::server {

struct ServerLimits {
  std::size_t max_head_bytes = 64 << 10;  // request line + headers; more is 431
  std::size_t max_body_bytes = 1 << 20;   // more is 413 (paths-info bodies are small)
  // A route that takes larger bodies (POST /v1/infer: images) says so here, from
  // the request head; unset or 0 for a request: max_body_bytes.
  std::function<std::size_t(const HttpRequest&)> body_limit;
  int max_connections = 1024;             // more are answered 503 and closed
  std::chrono::seconds idle_timeout{60};  // keep-alive connection with no request
  std::chrono::seconds io_timeout{60};    // a started request or a response that does not move
  std::chrono::seconds shutdown_grace{10};  // in-flight requests get this long after stop()
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

// Sends `file` to the socket with sendfile(2); false when the peer is gone, the
// send timed out, or the file is shorter than the range.
bool send_file_range(int sock, const FileBody& file);

class HttpServer {
 public:
  // Binds and listens on host:port (port 0: an ephemeral one, see port()).
  static Result<std::unique_ptr<HttpServer>> listen(std::string_view host, std::uint16_t port,
                                                    ServerLimits limits, Handler handler);
  ~HttpServer();

  std::uint16_t port() const { return port_; }
  // Accepts and serves until stop(); then waits up to shutdown_grace for requests
  // in flight, closes idle connections at once, and returns.
  void serve();
  // Thread-safe; wakes serve() and every idle connection.
  void stop();

 private:
  HttpServer(util::UniqueFd listener, std::uint16_t port, ServerLimits limits, Handler handler);
  void run_connection(int fd);
  // Reads the next request; false when the connection should close (answer sent if any).
  bool read_request(int fd, std::string& buffer, HttpRequest& request);
  bool write_response(int fd, const HttpRequest& request, const HttpResponse& response, bool keep_alive);
  bool wait_readable(int fd, std::chrono::seconds timeout, bool stop_wakes);

  util::UniqueFd listener_;
  util::UniqueFd stop_read_;
  util::UniqueFd stop_write_;
  std::uint16_t port_ = 0;
  ServerLimits limits_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<int> connections_;  // open connection sockets, for the forced close
};

}  // namespace modelcache::server
