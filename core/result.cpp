#include "core/result.h"

namespace para {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::already_exists:
      return "already_exists";
    case Errc::io:
      return "io";
    case Errc::tool_failed:
      return "tool_failed";
    case Errc::timeout:
      return "timeout";
    case Errc::denied:
      return "denied";
    case Errc::unavailable:
      return "unavailable";
    case Errc::conflict:
      return "conflict";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

Errc errc_from_name(std::string_view name) {
  for (Errc code :
       {Errc::invalid_argument, Errc::not_found, Errc::already_exists, Errc::io, Errc::tool_failed,
        Errc::timeout, Errc::denied, Errc::unavailable, Errc::conflict}) {
    if (name == errc_name(code)) return code;
  }
  return Errc::internal;
}

}  // namespace para
