#include "mcp/uri_template.h"

#include <vector>

namespace para::mcp {
namespace {

struct Part {
  bool variable = false;
  std::string text;  // literal text, or the variable name
};

std::optional<std::vector<Part>> parse(std::string_view t) {
  std::vector<Part> parts;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '}') return std::nullopt;
    if (t[i] != '{') {
      const size_t next = t.find_first_of("{}", i);
      const size_t end = next == std::string_view::npos ? t.size() : next;
      parts.push_back(Part{false, std::string(t.substr(i, end - i))});
      i = end;
      continue;
    }
    const size_t close = t.find('}', i);
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view name = t.substr(i + 1, close - i - 1);
    if (name.empty()) return std::nullopt;
    for (char c : name) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok) return std::nullopt;
    }
    if (!parts.empty() && parts.back().variable) return std::nullopt;
    parts.push_back(Part{true, std::string(name)});
    i = close + 1;
  }
  return parts;
}

}  // namespace

bool is_valid_uri_template(std::string_view uri_template) {
  return parse(uri_template).has_value();
}

std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view uri_template,
                                                                     std::string_view uri) {
  const auto parts = parse(uri_template);
  if (!parts) return std::nullopt;
  std::map<std::string, std::string> vars;
  size_t pos = 0;
  for (size_t k = 0; k < parts->size(); ++k) {
    const Part& part = (*parts)[k];
    if (!part.variable) {
      if (uri.substr(pos, part.text.size()) != part.text) return std::nullopt;
      pos += part.text.size();
      continue;
    }
    // A variable runs up to the next '/' or to the next literal, whichever
    // comes first; it never spans a '/'.
    size_t end = uri.find('/', pos);
    if (end == std::string_view::npos) end = uri.size();
    if (k + 1 < parts->size()) {
      const std::string& next = (*parts)[k + 1].text;
      const size_t lit = uri.find(next, pos);
      if (lit == std::string_view::npos) return std::nullopt;
      if (lit < end) end = lit;
    }
    if (end == pos) return std::nullopt;
    vars[part.text] = std::string(uri.substr(pos, end - pos));
    pos = end;
  }
  if (pos != uri.size()) return std::nullopt;
  return vars;
}

}  // namespace para::mcp
