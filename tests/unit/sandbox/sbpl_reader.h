#pragma once

// A small reader for the SBPL the renderer writes, for tests only: parses
// s-expressions, checks the structure (balanced forms, only known operations
// and filters, every (param "X") supplied), and evaluates a profile for one
// operation so that tests can ask "would this write be allowed?".

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace para::test::sbpl {

struct Node {
  enum class Type { list, symbol, string, number } type = Type::list;
  std::string text;  // symbol name, string value (unescaped) or number
  std::vector<Node> items;
};

/// Parses a whole profile. Throws std::runtime_error with the offset on any
/// syntax error (unbalanced forms, bad escapes, raw #"..." strings).
std::vector<Node> parse(const std::string& text);

/// Structural problems, empty when the profile is well-formed: unknown
/// operations or filters, a (param "X") with no -D X=..., a string literal
/// that contains any of `forbidden` (the policy's paths).
std::vector<std::string> check(const std::vector<Node>& forms,
                               const std::map<std::string, std::string>& params,
                               const std::vector<std::string>& forbidden);

/// What an operation targets: a path, or a network endpoint.
struct Query {
  std::string operation;  // "file-read-data", "file-write-create", "network-outbound"
  std::string path;       // file operations and unix sockets
  std::string proto;      // "tcp", "udp", "unix"
  std::string host;       // "127.0.0.1", "::1", "1.2.3.4"
  int port = 0;
};

/// The decision for a query: the last matching rule wins (last_match=true)
/// or the first one; no match = the default rule.
bool allowed(const std::vector<Node>& forms, const std::map<std::string, std::string>& params,
             const Query& q, bool last_match = true);

}  // namespace para::test::sbpl
