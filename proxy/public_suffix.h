#pragma once

// The Public Suffix List (Debian's publicsuffix package, compiled in at build
// time; never downloaded), used to refuse allowlist entries such as "*.com"
// or "co.uk" that would open a whole registry.

#include <cstddef>
#include <string_view>

namespace para::proxy {

/// Whether a canonical ASCII name is a public suffix under the list's rules
/// (exact rules, "*." wildcard rules and "!" exceptions), e.g. "com",
/// "co.uk", "github.io". Both the ICANN and the private sections count.
bool is_public_suffix(std::string_view name);

/// Whether the list makes every name directly under `name` a public suffix
/// (a "*.name" rule, as for "bd" or "kawasaki.jp"): then `name` and its
/// subdomains span unrelated owners, although `name` itself is no rule.
bool has_public_suffixes_below(std::string_view name);

namespace detail {
extern const std::string_view kPublicSuffixRules[];  // sorted
extern const size_t kPublicSuffixRuleCount;
}  // namespace detail

}  // namespace para::proxy
