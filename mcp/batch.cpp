#include "mcp/batch.h"

#include <mutex>
#include <vector>

#include "mcp/jsonrpc.h"

namespace para::mcp {
namespace {

namespace rpc = jsonrpc;
using nlohmann::json;

// Collects the elements' answers; the last one to finish sends the array.
class BatchReply {
 public:
  BatchReply(std::shared_ptr<Outbound> parent, size_t parts)
      : parent_(std::move(parent)), left_(parts) {}

  void send(const json& message) {
    if (parent_) parent_->send(message);
  }
  void done(std::optional<json> response) {
    std::optional<json> all;
    {
      std::lock_guard lock(mutex_);
      if (response) responses_.push_back(std::move(*response));
      if (--left_ > 0) return;
      if (!responses_.empty()) all = json(std::move(responses_));
    }
    if (parent_) parent_->finish(std::move(all));
  }

 private:
  std::shared_ptr<Outbound> parent_;
  std::mutex mutex_;
  size_t left_;
  std::vector<json> responses_;
};

// One element's Outbound.
class BatchPart : public Outbound {
 public:
  explicit BatchPart(std::shared_ptr<BatchReply> batch) : batch_(std::move(batch)) {}
  void send(const json& message) override { batch_->send(message); }
  void finish(std::optional<json> response) override { batch_->done(std::move(response)); }

 private:
  std::shared_ptr<BatchReply> batch_;
};

}  // namespace

void receive_batch(Session& session, const json& batch, std::shared_ptr<Outbound> reply) {
  const std::string version = session.protocol_version();
  if (!takes_batches(version)) {
    if (reply) {
      reply->finish(
          rpc::error_response(nullptr, rpc::kInvalidRequest,
                              "Invalid Request: JSON-RPC batches are not part of MCP " +
                                  (version.empty() ? std::string("before initialize") : version) +
                                  " (2025-03-26 had them); send one message at a time"));
    }
    return;
  }
  if (batch.empty()) {
    if (reply)
      reply->finish(
          rpc::error_response(nullptr, rpc::kInvalidRequest, "Invalid Request: an empty batch"));
    return;
  }
  auto collected =
      std::make_shared<BatchReply>(reply ? reply : std::shared_ptr<Outbound>(), batch.size());
  for (const json& element : batch) {
    auto part = std::make_shared<BatchPart>(collected);
    if (element.is_object() && element.value("method", json()) == "initialize") {
      part->finish(rpc::error_response(element.value("id", json()), rpc::kInvalidRequest,
                                       "Invalid Request: initialize cannot be part of a batch"));
      continue;
    }
    session.receive(element, part);
  }
}

}  // namespace para::mcp
