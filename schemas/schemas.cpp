#include "schemas/schemas.h"

#include <cassert>
#include <map>
#include <mutex>
#include <string>

namespace para::schemas {

extern const Entry kEntries[];
extern const size_t kEntryCount;

namespace {

const Entry* find(std::string_view name) {
  for (size_t i = 0; i < kEntryCount; ++i) {
    if (name == kEntries[i].name) return &kEntries[i];
  }
  return nullptr;
}

}  // namespace

std::string_view text(std::string_view name) {
  const Entry* e = find(name);
  return e ? std::string_view(e->text) : std::string_view();
}

bool has(std::string_view name) { return find(name) != nullptr; }

const nlohmann::json& get(std::string_view name) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const Entry* e = find(name);
  assert(e != nullptr && "unknown schema name");
  auto [it, inserted] = cache.emplace(std::string(name), nlohmann::json::parse(e->text));
  return it->second;
}

std::vector<std::string_view> names() {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < kEntryCount; ++i) out.emplace_back(kEntries[i].name);
  return out;
}

}  // namespace para::schemas
