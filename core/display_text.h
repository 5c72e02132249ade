#pragma once

// Text for a person's terminal. Session names, tasks and status reports
// come from state files an agent can write, so everything para prints of
// them goes through printable() first. Layout counts terminal columns: a
// CJK character or an emoji takes two, a combining mark none, as terminals
// draw them (Unicode's East Asian Width W/F, and the nonspacing marks).
// wcwidth() would depend on the process's locale; this does not.

#include <cstddef>
#include <string>
#include <string_view>

namespace para {

/// Characters for display: control characters (C0, DEL and C1), the
/// bidirectional controls and bytes that are not UTF-8 become '?', so that
/// text from state files cannot move the cursor, change the terminal or
/// show itself in another order than it is stored.
std::string printable(const std::string& text);

/// Multi-line output of an agent (its log) for a terminal: as printable(),
/// but newlines and tabs stay, a carriage return not before a newline
/// becomes one (nothing is overwritten on screen), and colour (SGR: ESC [
/// digits ; m) stays unless it conceals text (SGR 8). Any other escape
/// sequence loses its ESC, so its text shows instead of acting (OSC 52 would
/// write the clipboard, others set the title or move the cursor).
std::string terminal_safe(const std::string& text);

/// As terminal_safe(), but no escape sequence keeps its ESC, colour
/// included: for text none of whose sequences are the viewer's to trust,
/// such as a diff of an agent's files (black on black would hide a line).
std::string terminal_inert(const std::string& text);

/// 0, 1 or 2 columns for one code point that printable() lets through.
int char_columns(char32_t code_point);

/// Columns of well-formed UTF-8 text (printable()'s output).
size_t display_columns(std::string_view text);

/// `text` cut to at most `columns` columns, "…" marking a cut. A wide
/// character that would straddle the edge is left out, not split.
std::string fit_columns(const std::string& text, size_t columns);

/// `text` fitted, then padded with spaces to exactly `columns` columns.
std::string pad_columns(const std::string& text, size_t columns);

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points past U+10FFFF), as JSON output requires.
bool valid_utf8(std::string_view text);

/// At most `max_bytes` of `text`, never ending inside a character.
std::string cut_utf8(const std::string& text, size_t max_bytes);

/// The code point at text[i], and its length in bytes. Assumes well-formed
/// UTF-8 (printable()'s output); a stray byte is one code point of itself.
char32_t decode_utf8(std::string_view text, size_t i, size_t& length);

}  // namespace para
