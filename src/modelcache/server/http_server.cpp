#include "server/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

bool send_all(int fd, std::string_view data, int flags = 0) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // peer gone, or SO_SNDTIMEO passed with no progress
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Result<sockaddr_storage> make_address(std::string_view host, std::uint16_t port, socklen_t& length) {
  sockaddr_storage storage{};
  std::string name(host == "localhost" ? "127.0.0.1" : host);
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, name.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return storage;
  }
  if (::inet_pton(AF_INET6, name.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
    return storage;
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("--listen: '{}' is not an IP address (use e.g. 127.0.0.1:8080 or [::1]:8080)", host));
}

// After an error answer to a request whose body is still arriving (413): stop
// writing and read what the client still sends for a moment, so that the close
// does not reset the connection before the client has read the answer.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char sink[16384];
  std::size_t drained = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (drained < (16u << 20) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) break;  // the client sends no more
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
    drained += static_cast<std::size_t>(n);
  }
}

}  // namespace

bool send_file_range(int sock, const FileBody& file) {
  off_t offset = static_cast<off_t>(file.offset);
  std::uint64_t left = file.length;
  while (left > 0) {
    ssize_t n = ::sendfile(sock, file.fd->get(), &offset, std::min<std::uint64_t>(left, 1u << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // peer gone, timeout, or the file shrank (never for a blob)
    left -= static_cast<std::uint64_t>(n);
  }
  return true;
}

Result<std::unique_ptr<HttpServer>> HttpServer::listen(std::string_view host, std::uint16_t port,
                                                       ServerLimits limits, Handler handler) {
  socklen_t length = 0;
  auto address = make_address(host, port, length);
  if (!address) return std::unexpected(address.error());
  util::UniqueFd fd(::socket(address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(ErrorCode::kIo, fmt::format("cannot create a socket: {}", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*address), length) != 0) {
    return fail(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {} (is another daemon running there?)",
                                            host, port, std::strerror(errno)));
  }
  if (::listen(fd.get(), 512) != 0) {
    return fail(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_length);
  std::uint16_t actual = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                     : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(fd), actual, limits, std::move(handler)));
}

HttpServer::HttpServer(util::UniqueFd listener, std::uint16_t port, ServerLimits limits, Handler handler)
    : listener_(std::move(listener)), port_(port), limits_(limits), handler_(std::move(handler)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) == 0) {
    stop_read_ = util::UniqueFd(fds[0]);
    stop_write_ = util::UniqueFd(fds[1]);
  }
}

HttpServer::~HttpServer() = default;

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  // Never read: the pipe stays readable, so every poll() that watches it wakes.
  char byte = 1;
  [[maybe_unused]] auto n = ::write(stop_write_.get(), &byte, 1);
}

bool HttpServer::wait_readable(int fd, std::chrono::seconds timeout, bool stop_wakes) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int n = ::poll(fds, stop_wakes ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (fds[0].revents != 0) return true;  // data, or EOF/error that recv() reports
    if (stop_wakes && fds[1].revents != 0) return false;
  }
}

void HttpServer::serve() {
  pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
  while (!stopping_) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) break;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        util::log(util::LogLevel::kWarn, "serve: cannot accept a connection: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{static_cast<time_t>(limits_.io_timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    {
      std::lock_guard lock(mutex_);
      if (connections_.size() >= static_cast<std::size_t>(limits_.max_connections)) {
        HttpResponse busy = error_response(503, "", "too many connections; retry later");
        busy.set_header("Retry-After", "1");
        send_all(fd, serialize_head(busy, false) + busy.body);
        ::close(fd);
        continue;
      }
      connections_.insert(fd);
    }
    try {
      std::thread([this, fd] { run_connection(fd); }).detach();
    } catch (const std::system_error& e) {  // out of threads: refuse this one, keep serving
      util::log(util::LogLevel::kWarn, "serve: cannot start a connection thread: {}", e.what());
      std::lock_guard lock(mutex_);
      connections_.erase(fd);
      ::close(fd);
    }
  }
  listener_ = util::UniqueFd();  // new connections are refused from here on
  std::unique_lock lock(mutex_);
  if (!idle_.wait_for(lock, limits_.shutdown_grace, [this] { return connections_.empty(); })) {
    util::log(util::LogLevel::kWarn, "serve: {} connection(s) still busy after {} s; closing them",
              connections_.size(), limits_.shutdown_grace.count());
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    idle_.wait_for(lock, std::chrono::seconds(5), [this] { return connections_.empty(); });
  }
}

void HttpServer::run_connection(int fd) {
  std::string buffer;
  while (true) {
    HttpRequest request;
    if (!read_request(fd, buffer, request)) break;
    bool keep_alive = request.keep_alive() && !stopping_;
    HttpResponse response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {  // a bug in a route must not take the daemon down
      util::log(util::LogLevel::kError, "serve: {} {}: {}", request.method, request.path, e.what());
      response = error_response(500, "", "internal error");
    }
    if (!write_response(fd, request, response, keep_alive) || !keep_alive) break;
  }
  std::lock_guard lock(mutex_);
  connections_.erase(fd);
  ::close(fd);  // under the lock: serve() never shuts down a reused descriptor number
  idle_.notify_all();
}

bool HttpServer::read_request(int fd, std::string& buffer, HttpRequest& request) {
  auto refuse = [&](int status, std::string_view message) {
    HttpResponse r = error_response(status, "", message);
    if (send_all(fd, serialize_head(r, false) + r.body)) linger_close(fd);
    return false;
  };
  std::size_t head_end;
  char chunk[16384];
  while (true) {
    while (buffer.starts_with("\r\n")) buffer.erase(0, 2);  // tolerated between requests
    head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) break;
    if (buffer.size() > limits_.max_head_bytes) return refuse(431, "request head larger than 64 KiB");
    bool idle = buffer.empty();
    if (!wait_readable(fd, idle ? limits_.idle_timeout : limits_.io_timeout, idle)) {
      return idle ? false : refuse(408, "request not received in time");
    }
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  if (head_end > limits_.max_head_bytes) return refuse(431, "request head larger than 64 KiB");
  auto parsed = parse_request_head(std::string_view(buffer).substr(0, head_end));
  if (!parsed) return refuse(400, parsed.error().message);
  request = std::move(*parsed);
  buffer.erase(0, head_end + 4);
  if (request.header("transfer-encoding")) {
    return refuse(411, "chunked request bodies are not accepted; send Content-Length");
  }
  std::uint64_t length = 0;
  if (auto text = request.header("content-length")) {
    auto value = util::parse_int(*text);
    if (!value || *value < 0) return refuse(400, "malformed Content-Length");
    length = static_cast<std::uint64_t>(*value);
  }
  std::size_t max_body = limits_.max_body_bytes;
  if (limits_.body_limit) {
    if (std::size_t route_max = limits_.body_limit(request)) max_body = route_max;
  }
  if (length > max_body) {
    return refuse(413, fmt::format("request body of {} bytes is over the limit of {} bytes", length, max_body));
  }
  if (length > buffer.size()) {
    auto expect = request.header("expect");
    if (expect && util::iequals(*expect, "100-continue") && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
      return false;
    }
  }
  while (buffer.size() < length) {
    if (!wait_readable(fd, limits_.io_timeout, false)) return refuse(408, "request body not received in time");
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  request.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return true;
}

bool HttpServer::write_response(int fd, const HttpRequest& request, const HttpResponse& response,
                                bool keep_alive) {
  std::string head = serialize_head(response, keep_alive);
  if (request.method == "HEAD") return send_all(fd, head);
  if (response.stream) {
    return send_all(fd, head, response.stream->length > 0 ? MSG_MORE : 0) && response.stream->write(fd);
  }
  if (!response.file) return send_all(fd, head + response.body);
  // MSG_MORE: the head leaves in the same segment as the first file bytes.
  return send_all(fd, head, response.file->length > 0 ? MSG_MORE : 0) && send_file_range(fd, *response.file);
}

}  // namespace modelcache::server
