#include "core/display_text.h"

#include <algorithm>
#include <iterator>
#include <string_view>
#include <vector>

namespace para {
namespace {

struct Range {
  char32_t first, last;
};

// Zero width: combining marks, zero-width spaces and joiners, variation
// selectors. Sorted, not overlapping.
constexpr Range kZeroWidth[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},   {0x0610, 0x061a}, {0x064b, 0x065f},
    {0x0670, 0x0670}, {0x06d6, 0x06dc}, {0x0900, 0x0903},   {0x093a, 0x094f}, {0x0e31, 0x0e31},
    {0x0e34, 0x0e3a}, {0x0e47, 0x0e4e}, {0x1ab0, 0x1aff},   {0x1dc0, 0x1dff}, {0x200b, 0x200f},
    {0x2060, 0x2064}, {0x20d0, 0x20ff}, {0x302a, 0x302f},   {0x3099, 0x309a}, {0xfe00, 0xfe0f},
    {0xfe20, 0xfe2f}, {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

// Two columns: East Asian Wide and Fullwidth, and emoji drawn as pictures.
constexpr Range kWide[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
    {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},
    {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x16fe0, 0x18cff},
    {0x1b000, 0x1b2ff}, {0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e},
    {0x1f191, 0x1f19a}, {0x1f200, 0x1f251}, {0x1f300, 0x1f64f}, {0x1f680, 0x1f6ff},
    {0x1f7e0, 0x1f7eb}, {0x1f90c, 0x1f9ff}, {0x1fa70, 0x1faff}, {0x20000, 0x2fffd},
    {0x30000, 0x3fffd},
};

// The bidirectional controls (embeddings, overrides, isolates, marks) and
// the line and paragraph separators: they make the terminal draw text in
// another order than it is stored ("Trojan Source"), or break a line.
bool reorders_text(const std::string& text, size_t i) {
  size_t length = 0;
  const char32_t cp = decode_utf8(text, i, length);
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

template <size_t N>
bool contains(const Range (&table)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](char32_t v, const Range& r) { return v < r.first; });
  return it != std::begin(table) && cp <= std::prev(it)->last;
}

}  // namespace

int char_columns(char32_t cp) {
  if (cp < 0x300) return 1;
  if (contains(kZeroWidth, cp)) return 0;
  return contains(kWide, cp) ? 2 : 1;
}

char32_t decode_utf8(std::string_view text, size_t i, size_t& length) {
  const auto c = static_cast<unsigned char>(text[i]);
  length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (i + length > text.size()) length = 1;
  if (length == 1) return c;
  char32_t cp = c & (0x7f >> length);
  for (size_t k = 1; k < length; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  return cp;
}

bool valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80                 ? 1
                       : c >= 0xc2 && c <= 0xdf ? 2
                       : c >= 0xe0 && c <= 0xef ? 3
                       : c >= 0xf0 && c <= 0xf4 ? 4
                                                : 0;
    if (len == 0 || i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    }
    size_t ignored = 0;
    const char32_t cp = decode_utf8(text, i, ignored);
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string cut_utf8(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  return text.substr(0, end);
}

size_t display_columns(std::string_view text) {
  size_t columns = 0;
  for (size_t i = 0, length = 0; i < text.size(); i += length) {
    columns += char_columns(decode_utf8(text, i, length));
  }
  return columns;
}

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence stays, unless it encodes a C1 control
    // (U+0080..U+009F: U+009B is CSI to some terminals); any other byte is '?'.
    const size_t len = c >= 0xf0 && c <= 0xf4   ? 4
                       : c >= 0xe0 && c <= 0xef ? 3
                       : c >= 0xc2 && c <= 0xdf ? 2
                                                : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (ok && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) ok = false;
    if (!ok || reorders_text(text, i)) {
      out += '?';
      i += ok ? len : 1;
      continue;
    }
    out.append(text, i, len);
    i += len;
  }
  return out;
}

namespace {

// Whether SGR parameters ("1;38;5;8;8") turn on concealed text (8), the
// extended colour arguments (38;5;N, 38;2;R;G;B) skipped.
bool sgr_conceals(std::string_view params) {
  std::vector<int> values;
  for (size_t start = 0; start <= params.size();) {
    const size_t end = std::min(params.find(';', start), params.size());
    int v = 0;
    for (size_t k = start; k < end && v < 1000; ++k) v = v * 10 + (params[k] - '0');
    values.push_back(v);
    start = end + 1;
  }
  for (size_t k = 0; k < values.size(); ++k) {
    if (values[k] == 8) return true;
    if ((values[k] == 38 || values[k] == 48 || values[k] == 58) && k + 1 < values.size()) {
      k += values[k + 1] == 5 ? 2 : values[k + 1] == 2 ? 4 : 1;
    }
  }
  return false;
}

std::string for_terminal(const std::string& text, bool keep_colour) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n' || c == '\t') {
      out += c;
      ++i;
    } else if (c == '\r') {
      out += i + 1 < text.size() && text[i + 1] == '\n' ? '\r' : '\n';
      ++i;
    } else if (c == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t end = i + 2;
      while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == ';')) {
        ++end;
      }
      if (keep_colour && end < text.size() && text[end] == 'm' &&
          !sgr_conceals(std::string_view(text).substr(i + 2, end - i - 2))) {
        out.append(text, i, end + 1 - i);  // colour
        i = end + 1;
      } else {
        out += '?';
        ++i;
      }
    } else {
      // Everything else as printable() shows it, up to the next byte kept.
      size_t end = i + 1;
      while (end < text.size() && text[end] != '\n' && text[end] != '\t' && text[end] != '\r' &&
             text[end] != '\x1b') {
        ++end;
      }
      out += printable(text.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

}  // namespace

std::string terminal_safe(const std::string& text) {
  return for_terminal(text, true);
}

std::string terminal_inert(const std::string& text) {
  return for_terminal(text, false);
}

std::string fit_columns(const std::string& text, size_t columns) {
  if (display_columns(text) <= columns) return text;
  if (columns == 0) return "";
  std::string out;
  size_t used = 0;
  for (size_t i = 0, length = 0; i < text.size(); i += length) {
    const int w = char_columns(decode_utf8(text, i, length));
    if (used + w > columns - 1) break;  // keep one column for the "…"
    out.append(text, i, length);
    used += w;
  }
  return out + "…";
}

std::string pad_columns(const std::string& text, size_t columns) {
  std::string out = fit_columns(text, columns);
  return out + std::string(columns - display_columns(out), ' ');
}

}  // namespace para
