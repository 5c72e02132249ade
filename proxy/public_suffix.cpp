#include "proxy/public_suffix.h"

#include <algorithm>
#include <string>

namespace para::proxy {
namespace {

bool has_rule(std::string_view rule) {
  const std::string_view* begin = detail::kPublicSuffixRules;
  const std::string_view* end = begin + detail::kPublicSuffixRuleCount;
  return std::binary_search(begin, end, rule);
}

}  // namespace

bool is_public_suffix(std::string_view name) {
  if (name.empty()) return false;
  if (has_rule(name)) return true;
  if (has_rule("!" + std::string(name))) return false;
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return false;
  return has_rule("*." + std::string(name.substr(dot + 1)));
}

bool has_public_suffixes_below(std::string_view name) {
  return !name.empty() && has_rule("*." + std::string(name));
}

}  // namespace para::proxy
