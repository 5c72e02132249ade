// core/display_text: what para prints of agent-written text, and how many
// terminal columns it takes.

#include <doctest/doctest.h>

#include <string>

#include "core/display_text.h"

namespace para {
namespace {

TEST_CASE("printable keeps UTF-8 text and replaces every control character") {
  CHECK(printable("plain text") == "plain text");
  CHECK(printable("d\xc3\xa9j\xc3\xa0 \xe2\x80\xa6 \xf0\x9f\x99\x82") ==
        "d\xc3\xa9j\xc3\xa0 \xe2\x80\xa6 \xf0\x9f\x99\x82");
  CHECK(printable("a\x1b[2Jb\tc\x7f") == "a?[2Jb?c?");
  CHECK(printable("\xc2\x9b"
                  "31m") == "??31m");  // U+009B, CSI to some terminals
  CHECK(printable("\x9b"
                  "31m") == "?31m");          // a lone C1 byte
  CHECK(printable("\xc3") == "?");            // cut short
  CHECK(printable("\xc0\xaf") == "??");       // overlong
  CHECK(printable("\xff\xbf\xbf") == "???");  // never UTF-8
}

TEST_CASE("printable replaces the controls that reorder or break displayed text") {
  // "Trojan Source": RLO makes "exe.txt" show as "txt.exe".
  CHECK(printable("a\u202eexe.txt") == "a?exe.txt");
  CHECK(printable("\u2066x\u2069 \u200e\u200f\u061c") == "?x? ???");
  CHECK(printable("line\u2028next\u2029") == "line?next?");
  CHECK(printable("\u2026\u2030\u2065") == "\u2026\u2030\u2065");  // neighbours stay
}

TEST_CASE("display_columns: wide characters take two columns, combining marks none") {
  CHECK(display_columns("abc") == 3);
  CHECK(display_columns("déjà") == 4);
  CHECK(display_columns("e\u0301") == 1);  // e + combining acute
  CHECK(display_columns("漢字") == 4);
  CHECK(display_columns("セッション") == 10);
  CHECK(display_columns("한국어") == 6);
  CHECK(display_columns("ｆｕｌｌ") == 8);  // fullwidth Latin
  CHECK(display_columns("🙂✅") == 4);
  CHECK(display_columns("a\u200bb") == 2);  // zero-width space
  CHECK(display_columns("\u2026") == 1);
  CHECK(char_columns(0x3000) == 2);
  CHECK(char_columns(0x303f) == 1);
  CHECK(char_columns(0x20000) == 2);
}

TEST_CASE("fit_columns cuts on columns, never inside a character") {
  CHECK(fit_columns("abc", 3) == "abc");
  CHECK(fit_columns("abcd", 3) == "ab…");
  CHECK(fit_columns("ééé", 3) == "ééé");
  CHECK(fit_columns("éééé", 3) == "éé…");
  CHECK(fit_columns("abc", 0).empty());
  CHECK(fit_columns("漢字", 4) == "漢字");
  CHECK(fit_columns("漢字漢", 4) == "漢…");  // 2 + 1 for the mark
  CHECK(fit_columns("漢字漢", 5) == "漢字…");
  CHECK(fit_columns("a漢字", 3) == "a…");  // 漢 would straddle the edge
  CHECK(display_columns(fit_columns("a漢字", 3)) == 2);
}

TEST_CASE("terminal_safe keeps lines, tabs and colour; other sequences lose their ESC") {
  CHECK(terminal_safe("a\tb\nc\r\n") == "a\tb\nc\r\n");
  CHECK(terminal_safe("\x1b[1;31mred\x1b[0m") == "\x1b[1;31mred\x1b[0m");
  CHECK(terminal_safe("\x1b]52;c;ZXZpbA==\x07") == "?]52;c;ZXZpbA==?");
  CHECK(terminal_safe("\x1b[2J\x1b[H") == "?[2J?[H");      // not colour
  CHECK(terminal_safe("rm -rf /\rls") == "rm -rf /\nls");  // nothing overwritten
  CHECK(terminal_safe("x\by") == "x?y");
  CHECK(terminal_safe("\x1b") == "?");
  CHECK(terminal_safe("\x1b[31") == "?[31");  // cut short
  // Concealed text is shown; colour arguments that happen to be 8 are not SGR 8.
  CHECK(terminal_safe("\x1b[1;8mhidden") == "?[1;8mhidden");
  CHECK(terminal_safe("\x1b[38;5;8mgrey\x1b[48;2;8;8;8m") == "\x1b[38;5;8mgrey\x1b[48;2;8;8;8m");
  CHECK(terminal_safe("\x1b[38;2;1;2;3;8mx") == "?[38;2;1;2;3;8mx");
  CHECK(terminal_inert("\x1b[30;40mblack\x1b[0m\n") == "?[30;40mblack?[0m\n");
  CHECK(terminal_safe("a\xe2\x80\xae"
                      "b \xc2\x9b \xff") == "a?b ?? ?");  // C1 as printable() shows it
  CHECK(terminal_safe("日本語 🙂\n") == "日本語 🙂\n");
}

TEST_CASE("valid_utf8 accepts UTF-8 and nothing else") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain, déjà, 日本語, 🙂"));
  CHECK_FALSE(valid_utf8("caf\xe9"));           // Latin-1
  CHECK_FALSE(valid_utf8("\xc3"));              // cut short
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong, three bytes
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(
      valid_utf8("a\x80"
                 "b"));  // a lone continuation byte
}

TEST_CASE("cut_utf8 never ends inside a character") {
  CHECK(cut_utf8("abc", 5) == "abc");
  CHECK(cut_utf8("abc", 2) == "ab");
  CHECK(cut_utf8("aé", 2) == "a");  // é is two bytes
  CHECK(cut_utf8("aé", 3) == "aé");
  CHECK(cut_utf8("日本", 4) == "日");
  CHECK(cut_utf8("🙂x", 3).empty());
  CHECK(valid_utf8(cut_utf8(std::string(499, 'a') + "é and more", 500)));
}

}  // namespace
}  // namespace para
