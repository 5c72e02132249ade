#pragma once

// Session names, generated names and git branch names.

#include <functional>
#include <string>

#include "core/result.h"

namespace para::session {

inline constexpr size_t kMaxNameLength = 50;

/// A session name is 1-50 ASCII letters, digits, '-' or '_', starting with a
/// letter or digit. It becomes a path component, a branch segment and a
/// container name, so nothing else is allowed; "archived" (any case) is
/// reserved for the archive namespace. Errors: invalid_argument
/// saying what is wrong and what a valid name looks like.
Result<void> validate_session_name(const std::string& name);

/// A friendly random name "<adjective>_<noun>" that `taken` rejects as
/// little as possible: 50 random tries, then "_<n>" suffixes, then a
/// timestamp suffix (para's rule).
std::string generate_session_name(const std::function<bool(const std::string&)>& taken);

/// git check-ref-format's rules for a branch name, plus para's: not empty,
/// at most 250 bytes, no leading '-', no "refs/" prefix. Errors:
/// invalid_argument naming the offending part.
Result<void> validate_branch_name(const std::string& branch);

}  // namespace para::session
