#include "tests/unit/sandbox/sbpl_reader.h"

#include <algorithm>
#include <regex>
#include <set>
#include <stdexcept>

namespace para::test::sbpl {
namespace {

class Reader {
 public:
  explicit Reader(const std::string& t) : t_(t) {}
  std::vector<Node> all() {
    std::vector<Node> out;
    skip();
    while (i_ < t_.size()) {
      out.push_back(form());
      skip();
    }
    return out;
  }

 private:
  [[noreturn]] void error(const std::string& what) {
    throw std::runtime_error("SBPL syntax error at offset " + std::to_string(i_) + ": " + what);
  }
  void skip() {
    while (i_ < t_.size()) {
      if (t_[i_] == ';') {
        while (i_ < t_.size() && t_[i_] != '\n') ++i_;
      } else if (std::isspace(static_cast<unsigned char>(t_[i_]))) {
        ++i_;
      } else {
        return;
      }
    }
  }
  Node form() {
    skip();
    if (i_ >= t_.size()) error("unexpected end");
    const char c = t_[i_];
    if (c == '(') {
      ++i_;
      Node n;
      for (;;) {
        skip();
        if (i_ >= t_.size()) error("unbalanced '('");
        if (t_[i_] == ')') {
          ++i_;
          return n;
        }
        n.items.push_back(form());
      }
    }
    if (c == ')') error("unbalanced ')'");
    if (c == '#') error("raw strings are not used by para's profiles");
    if (c == '"') {
      ++i_;
      Node n{Node::Type::string, "", {}};
      for (;;) {
        if (i_ >= t_.size()) error("unterminated string");
        const char d = t_[i_++];
        if (d == '"') return n;
        if (static_cast<unsigned char>(d) < 0x20 || static_cast<unsigned char>(d) >= 0x7f) {
          error("control or non-ASCII byte in a string");
        }
        if (d == '\\') {
          if (i_ >= t_.size()) error("dangling backslash");
          const char e = t_[i_++];
          if (e != '\\' && e != '"') error("unknown escape");
          n.text += e;
        } else {
          n.text += d;
        }
      }
    }
    Node n{std::isdigit(static_cast<unsigned char>(c)) ? Node::Type::number : Node::Type::symbol,
           "",
           {}};
    while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_])) && t_[i_] != '(' &&
           t_[i_] != ')' && t_[i_] != '"' && t_[i_] != ';') {
      n.text += t_[i_++];
    }
    return n;
  }
  const std::string& t_;
  size_t i_ = 0;
};

const std::set<std::string> kOperations = {
    "default",
    "process-exec",
    "process-fork",
    "process-info*",
    "signal",
    "file-read*",
    "file-write*",
    "file-write-data",
    "file-ioctl",
    "pseudo-tty",
    "sysctl-read",
    "mach-lookup",
    "user-preference-read",
    "ipc-posix-sem",
    "ipc-posix-shm-read*",
    "ipc-posix-shm-write-create",
    "ipc-posix-shm-write-data",
    "ipc-posix-shm-write-unlink",
    "system-socket",
    "network-outbound",
    "network-inbound",
    "network-bind",
};
const std::set<std::string> kFilters = {
    "literal",       "subpath",         "regex",
    "require-all",   "require-any",     "require-not",
    "param",         "string-append",   "target",
    "global-name",   "sysctl-name",     "sysctl-name-prefix",
    "remote",        "local",           "ipc-posix-name-regex",
    "socket-domain", "socket-protocol",
};
const std::set<std::string> kSymbols = {"same-sandbox", "tcp", "udp", "ip", "AF_SYSTEM"};

bool is(const Node& n, const char* symbol) {
  return n.type == Node::Type::symbol && n.text == symbol;
}

void check_expr(const Node& n, const std::map<std::string, std::string>& params,
                const std::vector<std::string>& forbidden, std::vector<std::string>& out) {
  switch (n.type) {
    case Node::Type::string:
      for (const std::string& f : forbidden) {
        if (!f.empty() && n.text.find(f) != std::string::npos) {
          out.push_back("a literal contains the policy path '" + f + "'");
        }
      }
      return;
    case Node::Type::number:
      return;
    case Node::Type::symbol:
      if (kSymbols.count(n.text) == 0) out.push_back("unknown symbol " + n.text);
      return;
    case Node::Type::list:
      break;
  }
  if (n.items.empty() || n.items[0].type != Node::Type::symbol) {
    out.push_back("a form that does not start with a filter name");
    return;
  }
  const std::string& head = n.items[0].text;
  if (kFilters.count(head) == 0) out.push_back("unknown filter " + head);
  if (head == "param") {
    if (n.items.size() != 2 || n.items[1].type != Node::Type::string) {
      out.push_back("(param) takes one string");
    } else if (params.count(n.items[1].text) == 0) {
      out.push_back("(param \"" + n.items[1].text + "\") is not supplied by -D");
    }
    return;
  }
  for (size_t i = 1; i < n.items.size(); ++i) check_expr(n.items[i], params, forbidden, out);
}

// Evaluates a string-valued expression: a string, (param), (string-append).
std::string value(const Node& n, const std::map<std::string, std::string>& params) {
  if (n.type == Node::Type::string) return n.text;
  if (n.type == Node::Type::list && !n.items.empty() && is(n.items[0], "param")) {
    return params.at(n.items[1].text);
  }
  if (n.type == Node::Type::list && !n.items.empty() && is(n.items[0], "string-append")) {
    std::string s;
    for (size_t i = 1; i < n.items.size(); ++i) s += value(n.items[i], params);
    return s;
  }
  throw std::runtime_error("not a string expression");
}

bool within(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          (root == "/" || path[root.size()] == '/'));
}

bool is_localhost(const std::string& host) {
  return host == "127.0.0.1" || host == "::1";
}

// "localhost:8877", "*:*", "localhost:*"
bool endpoint_matches(const std::string& spec, const Query& q) {
  const size_t colon = spec.rfind(':');
  const std::string h = spec.substr(0, colon), p = spec.substr(colon + 1);
  const bool host_ok = h == "*" || (h == "localhost" && is_localhost(q.host));
  const bool port_ok = p == "*" || p == std::to_string(q.port);
  return host_ok && port_ok;
}

bool matches(const Node& f, const std::map<std::string, std::string>& params, const Query& q) {
  if (f.type != Node::Type::list || f.items.empty()) return false;
  const std::string& head = f.items[0].text;
  if (head == "require-all") {
    return std::all_of(f.items.begin() + 1, f.items.end(),
                       [&](const Node& c) { return matches(c, params, q); });
  }
  if (head == "require-any") {
    return std::any_of(f.items.begin() + 1, f.items.end(),
                       [&](const Node& c) { return matches(c, params, q); });
  }
  if (head == "require-not") return !matches(f.items[1], params, q);
  const bool path_query = q.operation.starts_with("file-") || q.proto == "unix";
  if (head == "literal") return path_query && q.path == value(f.items[1], params);
  if (head == "subpath") return path_query && within(q.path, value(f.items[1], params));
  if (head == "regex") {
    return path_query && std::regex_search(q.path, std::regex(value(f.items[1], params)));
  }
  if (head == "remote") {
    const std::string kind = f.items[1].text;
    if (q.proto == "unix" || q.host.empty()) return false;
    if (kind == "tcp" && q.proto != "tcp") return false;
    if (kind == "udp" && q.proto != "udp") return false;
    return endpoint_matches(value(f.items[2], params), q);
  }
  return false;  // target, global-name, sysctl-name, local ...: not a path or remote query
}

bool op_matches(const std::string& rule_op, const std::string& query_op) {
  if (rule_op == query_op) return true;
  return rule_op.ends_with("*") && query_op.starts_with(rule_op.substr(0, rule_op.size() - 1));
}

}  // namespace

std::vector<Node> parse(const std::string& text) {
  return Reader(text).all();
}

std::vector<std::string> check(const std::vector<Node>& forms,
                               const std::map<std::string, std::string>& params,
                               const std::vector<std::string>& forbidden) {
  std::vector<std::string> out;
  for (const Node& form : forms) {
    if (form.type != Node::Type::list || form.items.empty()) {
      out.push_back("a top-level form that is not a list");
      continue;
    }
    if (is(form.items[0], "version")) {
      if (form.items.size() != 2 || form.items[1].text != "1") out.push_back("(version 1) only");
      continue;
    }
    if (!is(form.items[0], "allow") && !is(form.items[0], "deny")) {
      out.push_back("unknown top-level form " + form.items[0].text);
      continue;
    }
    size_t i = 1;
    for (; i < form.items.size() && form.items[i].type == Node::Type::symbol; ++i) {
      if (kOperations.count(form.items[i].text) == 0) {
        out.push_back("unknown operation " + form.items[i].text);
      }
    }
    if (i == 1) out.push_back("a rule without an operation");
    for (; i < form.items.size(); ++i) check_expr(form.items[i], params, forbidden, out);
  }
  return out;
}

bool allowed(const std::vector<Node>& forms, const std::map<std::string, std::string>& params,
             const Query& q, bool last_match) {
  bool decision = false;  // (deny default)
  bool decided = false;
  for (const Node& form : forms) {
    if (form.items.empty() || !(is(form.items[0], "allow") || is(form.items[0], "deny"))) continue;
    size_t i = 1;
    bool op_ok = false;
    for (; i < form.items.size() && form.items[i].type == Node::Type::symbol; ++i) {
      if (form.items[i].text == "default") continue;
      op_ok = op_ok || op_matches(form.items[i].text, q.operation);
    }
    if (!op_ok) continue;
    bool hit = i == form.items.size();  // no filter: every target
    for (; i < form.items.size() && !hit; ++i) hit = matches(form.items[i], params, q);
    if (!hit) continue;
    const bool allow = is(form.items[0], "allow");
    if (!last_match) return allow;
    decision = allow;
    decided = true;
  }
  return decided && decision;
}

}  // namespace para::test::sbpl
