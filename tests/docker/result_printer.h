#pragma once

// doctest: REQUIRE(result) and CHECK(result) failures print the error's code
// and message instead of {?}. Include in test files only.

#include <doctest/doctest.h>

#include <string>

#include "core/result.h"

// REQUIRE(result) failures print the error's message instead of {?}.
namespace doctest {
template <class T>
struct StringMaker<para::Result<T>> {
  static String convert(const para::Result<T>& r) {
    if (r.has_value()) return "ok";
    return ("error(" + std::string(para::errc_name(r.error().code)) + "): " + r.error().message)
        .c_str();
  }
};
}  // namespace doctest
