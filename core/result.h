#pragma once

// Expected failures are values: every fallible operation returns Result<T>.
// The member names follow std::expected so that moving to it later only
// changes fail(). Bugs are asserts, not Results.

#include <cassert>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace para {

enum class Errc {
  invalid_argument,  // bad input from the caller: a name, a flag, a field
  not_found,         // a session, file, branch or image that does not exist
  already_exists,    // a session, branch or path that is already there
  io,                // an OS call failed; Error::sys_errno says which errno
  tool_failed,       // git / bwrap / docker answered with a failure
  timeout,           // a deadline passed
  denied,            // a policy refused: sandbox enforcement, domain filter
  unavailable,       // a daemon or tool is missing or unusable
  conflict,          // the state forbids it now: uncommitted changes, busy
  internal,          // a bug, or an unexpected third-party exception
};

/// The stable snake_case name of an error code ("not_found").
const char* errc_name(Errc code);
/// The code errc_name() names; internal for a name it does not know.
Errc errc_from_name(std::string_view name);

struct Error {
  Errc code = Errc::internal;
  std::string message;  // a full sentence: what failed and what to do about it
  int sys_errno = 0;
};

/// Every error return goes through fail(): the one place to change when moving
/// to std::expected (it would then return std::unexpected<Error>).
inline Error fail(Errc code, std::string message, int sys_errno = 0) {
  return Error{code, std::move(message), sys_errno};
}
inline Error fail(Error error) {
  return error;
}  // propagate: return fail(r.error());

template <class T>
class [[nodiscard]] Result {
 public:
  template <class U = T>
  requires(!std::same_as<std::remove_cvref_t<U>, Error> &&
           !std::same_as<std::remove_cvref_t<U>, Result> && std::constructible_from<T, U&&>)
      Result(U&& value)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  bool has_value() const { return !error_; }
  explicit operator bool() const { return has_value(); }
  const Error& error() const {
    assert(error_);
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace para
