#include "mcp/stdio_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "core/json_input.h"
#include "core/log.h"
#include "mcp/jsonrpc.h"
#include "mcp/session.h"

namespace para::mcp {

using nlohmann::json;
namespace rpc = jsonrpc;

namespace {

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

class StdioOutbound : public Outbound {
 public:
  explicit StdioOutbound(std::shared_ptr<LineWriter> writer) : writer_(std::move(writer)) {}
  void send(const json& message) override { writer_->write(message); }
  void finish(std::optional<json> response) override {
    if (response) writer_->write(*response);
  }
  void finish_text(std::string response) override { writer_->write_text(std::move(response)); }

 private:
  std::shared_ptr<LineWriter> writer_;
};

}  // namespace

void LineFramer::emit(std::vector<Frame>& out) {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (!blank(line_)) out.push_back(Frame{std::move(line_), false});
  line_.clear();
}

std::vector<LineFramer::Frame> LineFramer::feed(std::string_view bytes) {
  std::vector<Frame> out;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl);
    if (!discarding_) {
      if (line_.size() + chunk.size() > max_) {
        discarding_ = true;
        line_.clear();
        out.push_back(Frame{{}, true});
      } else {
        line_.append(chunk);
      }
    }
    if (nl == std::string_view::npos) break;
    if (discarding_) {
      discarding_ = false;
    } else {
      emit(out);
    }
    bytes.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<LineFramer::Frame> LineFramer::finish() {
  if (discarding_) {
    discarding_ = false;
    return std::nullopt;
  }
  std::vector<Frame> out;
  emit(out);
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

bool LineWriter::write(const json& message) {
  return write_text(rpc::dump(message));
}

bool LineWriter::write_text(std::string line) {
  line += '\n';
  std::lock_guard lock(mutex_);
  if (broken_) return false;
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      log::warn("mcp") << "stdout: " << std::strerror(errno) << "; the client is gone";
      broken_ = true;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

void dispatch_line(Session& session, const LineFramer::Frame& frame, size_t max_message_bytes,
                   const std::shared_ptr<Outbound>& reply) {
  if (frame.oversize) {
    reply->finish(rpc::error_response(nullptr, rpc::kInvalidRequest,
                                      "Invalid Request: a message is larger than " +
                                          std::to_string(max_message_bytes) +
                                          " bytes; it was dropped"));
    return;
  }
  json message = parse_untrusted_json(frame.text);
  if (message.is_discarded()) {
    reply->finish(rpc::error_response(
        nullptr, rpc::kParseError,
        "Parse error: the line is not valid JSON, or nests deeper than " +
            std::to_string(kMaxJsonDepth) + " levels (send one JSON-RPC message per line, UTF-8)"));
    return;
  }
  session.receive(message, reply);
}

Result<int> protect_stdout() {
  const int protocol_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    return fail(Errc::io, std::string("cannot reserve stdout: ") + std::strerror(errno), errno);
  }
  return protocol_fd;
}

Result<void> serve_stdio(Server& server, int in_fd, int out_fd, const StdioOptions& options) {
  auto writer = std::make_shared<LineWriter>(out_fd);
  auto session = server.create_session(std::make_shared<StdioOutbound>(writer));
  LineFramer framer(options.max_message_bytes);
  Result<void> status;
  char buf[64 * 1024];
  for (;;) {
    if (options.stop_fd >= 0) {
      pollfd fds[2] = {{in_fd, POLLIN, 0}, {options.stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
        status = fail(Errc::io, std::string("poll: ") + std::strerror(errno), errno);
        break;
      }
      if (fds[1].revents != 0) break;  // stopped: no line read after this
      if (fds[0].revents == 0) continue;
    }
    const ssize_t n = ::read(in_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = fail(Errc::io, std::string("stdin: ") + std::strerror(errno), errno);
      break;
    }
    if (n == 0) {
      if (auto last = framer.finish()) {
        dispatch_line(*session, *last, options.max_message_bytes,
                      std::make_shared<StdioOutbound>(writer));
      }
      break;
    }
    for (const LineFramer::Frame& frame :
         framer.feed(std::string_view(buf, static_cast<size_t>(n)))) {
      dispatch_line(*session, frame, options.max_message_bytes,
                    std::make_shared<StdioOutbound>(writer));
    }
  }
  // EOF: the client sends nothing more. Requests in flight may still answer
  // (a piped batch of lines gets all its responses); after the grace period
  // they are cancelled and get a moment to stop.
  auto wait_idle = [&](std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (session->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  wait_idle(options.shutdown_grace);
  session->close();
  wait_idle(std::chrono::seconds(1));
  if (session->in_flight() > 0) {
    log::warn("mcp") << session->in_flight() << " request(s) still running at exit";
  }
  return status;
}

}  // namespace para::mcp
