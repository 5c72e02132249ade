#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace para {
namespace {

std::tm utc_tm(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return tm;
}

std::optional<SystemTime> from_fields(int y, int mo, int d, int h, int mi, int s) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

}  // namespace

std::string rfc3339(SystemTime t) {
  const std::tm tm = utc_tm(t);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros < 0 ? 0 : micros));
  return buf;
}

std::string compact_utc(SystemTime t) {
  const std::tm tm = utc_tm(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<SystemTime> parse_rfc3339(const std::string& text) {
  int y, mo, d, h, mi, s, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
      6) {
    return std::nullopt;
  }
  std::optional<SystemTime> base = from_fields(y, mo, d, h, mi, s);
  if (!base) return std::nullopt;
  size_t i = static_cast<size_t>(used);
  long long micros = 0;
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (digits < 6) micros = micros * 10 + (text[i] - '0'), ++digits;
    }
    while (digits++ < 6) micros *= 10;
  }
  const std::string zone = text.substr(i);
  long offset_secs = 0;
  if (zone == "Z" || zone == "z" || zone.empty()) {
  } else if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 6 && zone[3] == ':') {
    const int oh = std::atoi(zone.substr(1, 2).c_str()), om = std::atoi(zone.substr(4, 2).c_str());
    offset_secs = (oh * 3600 + om * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return *base + std::chrono::microseconds(micros) - std::chrono::seconds(offset_secs);
}

std::optional<SystemTime> parse_compact_utc(const std::string& text) {
  int y, mo, d, h, mi, s, used = 0;
  if (text.size() != 15 ||
      std::sscanf(text.c_str(), "%4d%2d%2d-%2d%2d%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 ||
      used != 15) {
    return std::nullopt;
  }
  return from_fields(y, mo, d, h, mi, s);
}

}  // namespace para
