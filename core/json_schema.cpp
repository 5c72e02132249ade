#include "core/json_schema.h"

#include <cmath>
#include <regex>

namespace para {
namespace {

using nlohmann::json;

// The longest string a "pattern" is run on (see check_string).
constexpr size_t kMaxPatternInput = 1024;

class Validator {
 public:
  explicit Validator(const json& root_schema) : root_(root_schema) {}

  void check(const json& schema, const json& value, const std::string& path,
             std::vector<std::string>& errors, int depth = 0) const {
    if (depth > 64) {
      errors.push_back(path + ": schema nesting is too deep");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) errors.push_back(path + ": is not allowed here");
      return;
    }
    if (!schema.is_object()) return;

    if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
      const json* target = resolve(ref->get<std::string>());
      if (target == nullptr) {
        errors.push_back(path + ": schema reference " + ref->get<std::string>() + " is unknown");
      } else {
        check(*target, value, path, errors, depth + 1);
      }
    }
    if (auto type = schema.find("type"); type != schema.end() && !type_matches(*type, value)) {
      errors.push_back(path + ": expected " + type_list(*type) + ", got " + json_type_name(value));
      return;  // the other keywords would only repeat the same complaint
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool found = false;
      for (const json& option : *e) found = found || option == value;
      if (!found) errors.push_back(path + ": must be one of " + e->dump());
    }
    if (auto c = schema.find("const"); c != schema.end() && *c != value) {
      errors.push_back(path + ": must be " + c->dump());
    }
    if (value.is_string()) check_string(schema, value.get_ref<const std::string&>(), path, errors);
    if (value.is_number()) check_number(schema, value.get<double>(), path, errors);
    if (value.is_array()) check_array(schema, value, path, errors, depth);
    if (value.is_object()) check_object(schema, value, path, errors, depth);
    check_combinators(schema, value, path, errors, depth);
  }

 private:
  const json* resolve(const std::string& ref) const {
    if (ref == "#") return &root_;
    if (ref.rfind("#/", 0) != 0) return nullptr;
    try {
      const json& target = root_.at(json::json_pointer(ref.substr(1)));
      return &target;
    } catch (const json::exception&) {
      return nullptr;
    }
  }

  static bool one_type_matches(const std::string& type, const json& v) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    if (type == "number") return v.is_number();
    if (type == "integer") {
      if (v.is_number_integer()) return true;
      if (!v.is_number_float()) return false;
      const double d = v.get<double>();
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }

  static bool type_matches(const json& type, const json& v) {
    if (type.is_string()) return one_type_matches(type.get<std::string>(), v);
    if (type.is_array()) {
      for (const json& t : type) {
        if (t.is_string() && one_type_matches(t.get<std::string>(), v)) return true;
      }
      return false;
    }
    return true;
  }

  static std::string type_list(const json& type) {
    if (type.is_string()) return type.get<std::string>();
    std::string out;
    for (const json& t : type) {
      if (!out.empty()) out += " or ";
      out += t.is_string() ? t.get<std::string>() : t.dump();
    }
    return out;
  }

  static size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  static void check_string(const json& schema, const std::string& s, const std::string& path,
                           std::vector<std::string>& errors) {
    const size_t length = utf8_length(s);
    if (auto m = schema.find("minLength");
        m != schema.end() && m->is_number_unsigned() && length < m->get<size_t>()) {
      errors.push_back(path + ": must be at least " + m->dump() + " characters long");
    }
    if (auto m = schema.find("maxLength");
        m != schema.end() && m->is_number_unsigned() && length > m->get<size_t>()) {
      errors.push_back(path + ": must be at most " + m->dump() + " characters long");
    }
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      // std::regex recurses per character: a long enough value overflows the
      // stack. Patterned values are names and paths, so longer ones are refused.
      if (s.size() > kMaxPatternInput) {
        errors.push_back(path + ": is " + std::to_string(s.size()) +
                         " bytes long; at most " + std::to_string(kMaxPatternInput) +
                         " are allowed here");
        return;
      }
      try {
        if (!std::regex_search(s, std::regex(p->get<std::string>(), std::regex::ECMAScript))) {
          errors.push_back(path + ": does not match the pattern " + p->get<std::string>());
        }
      } catch (const std::regex_error&) {
        errors.push_back(path + ": the schema's pattern " + p->get<std::string>() + " is invalid");
      }
    }
  }

  static void check_number(const json& schema, double d, const std::string& path,
                           std::vector<std::string>& errors) {
    auto bound = [&](const char* key, auto bad, const char* words) {
      if (auto m = schema.find(key); m != schema.end() && m->is_number() && bad(m->get<double>())) {
        errors.push_back(path + ": must be " + words + " " + m->dump());
      }
    };
    bound(
        "minimum", [&](double b) { return d < b; }, "at least");
    bound(
        "maximum", [&](double b) { return d > b; }, "at most");
    bound(
        "exclusiveMinimum", [&](double b) { return d <= b; }, "greater than");
    bound(
        "exclusiveMaximum", [&](double b) { return d >= b; }, "less than");
  }

  void check_array(const json& schema, const json& value, const std::string& path,
                   std::vector<std::string>& errors, int depth) const {
    if (auto m = schema.find("minItems");
        m != schema.end() && m->is_number_unsigned() && value.size() < m->get<size_t>()) {
      errors.push_back(path + ": must have at least " + m->dump() + " items");
    }
    if (auto m = schema.find("maxItems");
        m != schema.end() && m->is_number_unsigned() && value.size() > m->get<size_t>()) {
      errors.push_back(path + ": must have at most " + m->dump() + " items");
    }
    if (auto u = schema.find("uniqueItems");
        u != schema.end() && u->is_boolean() && u->get<bool>()) {
      for (size_t i = 0; i < value.size(); ++i) {
        for (size_t j = i + 1; j < value.size(); ++j) {
          if (value[i] == value[j]) {
            errors.push_back(path + ": items " + std::to_string(i) + " and " + std::to_string(j) +
                             " are equal; items must be unique");
          }
        }
      }
    }
    size_t first = 0;
    if (auto p = schema.find("prefixItems"); p != schema.end() && p->is_array()) {
      for (; first < p->size() && first < value.size(); ++first) {
        check((*p)[first], value[first], path + "[" + std::to_string(first) + "]", errors,
              depth + 1);
      }
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = first; i < value.size(); ++i) {
        check(*items, value[i], path + "[" + std::to_string(i) + "]", errors, depth + 1);
      }
    }
  }

  void check_object(const json& schema, const json& value, const std::string& path,
                    std::vector<std::string>& errors, int depth) const {
    const auto props = schema.find("properties");
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const json& name : *req) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          errors.push_back(path + "." + name.get<std::string>() + ": is required");
        }
      }
    }
    const auto additional = schema.find("additionalProperties");
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string child = path + "." + it.key();
      if (props != schema.end() && props->is_object() && props->contains(it.key())) {
        check((*props)[it.key()], it.value(), child, errors, depth + 1);
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          std::string known;
          if (props != schema.end() && props->is_object()) {
            for (auto p = props->begin(); p != props->end(); ++p) {
              known += (known.empty() ? "" : ", ") + p.key();
            }
          }
          errors.push_back(child + ": is not a known field" +
                           (known.empty() ? std::string() : " (known: " + known + ")"));
        } else {
          check(*additional, it.value(), child, errors, depth + 1);
        }
      }
    }
  }

  void check_combinators(const json& schema, const json& value, const std::string& path,
                         std::vector<std::string>& errors, int depth) const {
    if (auto all = schema.find("allOf"); all != schema.end() && all->is_array()) {
      for (const json& s : *all) check(s, value, path, errors, depth + 1);
    }
    auto count_matches = [&](const json& list) {
      size_t matches = 0;
      for (const json& s : list) {
        std::vector<std::string> sub;
        check(s, value, path, sub, depth + 1);
        matches += sub.empty();
      }
      return matches;
    };
    if (auto any = schema.find("anyOf");
        any != schema.end() && any->is_array() && count_matches(*any) == 0) {
      errors.push_back(path + ": does not match any of the allowed forms");
    }
    if (auto one = schema.find("oneOf"); one != schema.end() && one->is_array()) {
      const size_t n = count_matches(*one);
      if (n != 1) {
        errors.push_back(path + (n == 0 ? ": does not match any of the allowed forms"
                                        : ": matches more than one of the allowed forms"));
      }
    }
    if (auto no = schema.find("not"); no != schema.end()) {
      std::vector<std::string> sub;
      check(*no, value, path, sub, depth + 1);
      if (sub.empty()) errors.push_back(path + ": matches a form that is not allowed");
    }
  }

  const json& root_;
};

}  // namespace

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "invalid";
  }
  return "unknown";
}

std::vector<std::string> validate_json(const json& schema, const json& value,
                                       const std::string& root) {
  std::vector<std::string> errors;
  Validator(schema).check(schema, value, root, errors);
  return errors;
}

}  // namespace para
