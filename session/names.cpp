#include "session/names.h"

#include <array>
#include <cctype>
#include <random>

#include "core/clock.h"
#include "core/display_text.h"
#include "core/fs.h"

namespace para::session {
namespace {

constexpr std::array kAdjectives = {
    "agile",    "amber",  "ancient",  "bold",    "brave",   "bright",   "brisk",  "calm",
    "clever",   "cosmic", "crimson",  "crisp",   "curious", "daring",   "deft",   "eager",
    "electric", "fancy",  "fearless", "fierce",  "gentle",  "gleaming", "golden", "graceful",
    "happy",    "hidden", "humble",   "jolly",   "keen",    "kind",     "lively", "lucky",
    "mellow",   "mighty", "misty",    "nimble",  "noble",   "patient",  "placid", "polished",
    "proud",    "quick",  "quiet",    "radiant", "rapid",   "royal",    "serene", "sharp",
    "shiny",    "silent", "silver",   "sleek",   "smooth",  "solar",    "steady", "swift",
    "tidy",     "vivid",  "wise",     "witty",   "zesty"};

constexpr std::array kNouns = {
    "albatross", "badger",  "bear",    "beaver",  "bison",   "bobcat",  "buffalo", "camel",
    "cheetah",   "cobra",   "condor",  "cougar",  "coyote",  "crane",   "crow",    "deer",
    "dingo",     "dolphin", "dove",    "dragon",  "eagle",   "elk",     "falcon",  "ferret",
    "finch",     "fox",     "gazelle", "gecko",   "gibbon",  "giraffe", "gopher",  "griffin",
    "hare",      "hawk",    "heron",   "hippo",   "hornet",  "hound",   "ibex",    "iguana",
    "impala",    "jackal",  "jaguar",  "jay",     "kestrel", "koala",   "lark",    "lemur",
    "leopard",   "lion",    "lizard",  "llama",   "lobster", "lynx",    "magpie",  "mantis",
    "marmot",    "marten",  "meerkat", "mink",    "mole",    "moose",   "newt",    "ocelot",
    "octopus",   "orca",    "osprey",  "otter",   "owl",     "ox",      "panda",   "panther",
    "parrot",    "pelican", "penguin", "phoenix", "pike",    "puffin",  "puma",    "python",
    "quail",     "rabbit",  "raccoon", "raven",   "robin",   "salmon",  "seal",    "shark",
    "sparrow",   "sphinx",  "squid",   "stork",   "swan",    "tapir",   "tiger",   "toucan",
    "trout",     "turtle",  "viper",   "vulture", "walrus",  "weasel",  "whale",   "wolf",
    "wombat",    "wren",    "yak",     "zebra"};

bool is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

}  // namespace

Result<void> validate_session_name(const std::string& name) {
  const std::string hint =
      " Use 1-50 letters, digits, '-' or '_', starting with a letter or digit (e.g. fix-login).";
  if (name.empty()) return fail(Errc::invalid_argument, "the session name is empty." + hint);
  if (name.size() > kMaxNameLength) {
    return fail(Errc::invalid_argument, "the session name is " + std::to_string(name.size()) +
                                            " characters long; at most " +
                                            std::to_string(kMaxNameLength) + " are allowed." +
                                            hint);
  }
  // Shown as the terminal would (é, not \xc3) when that is all readable
  // text; control bytes and non-UTF-8 as \xNN.
  const bool utf8 = valid_utf8(name) && para::printable(name) == name;
  auto shown = [&](const std::string& text) { return utf8 ? cut_utf8(text, 60) : printable(text); };
  for (size_t i = 0; i < name.size(); ++i) {
    if (is_name_char(static_cast<unsigned char>(name[i]))) continue;
    size_t length = 1;
    if (utf8) (void)decode_utf8(name, i, length);
    return fail(Errc::invalid_argument, "the session name '" + shown(name) + "' contains '" +
                                            shown(name.substr(i, length)) +
                                            "', which is not allowed." + hint);
  }
  if (name[0] == '-' || name[0] == '_') {
    return fail(Errc::invalid_argument, "the session name '" + printable(name) +
                                            "' must start with a letter or digit." + hint);
  }
  // <prefix>/archived/ holds archived branches: a session branch
  // <prefix>/archived would make every archive name a ref conflict. Refused
  // in any case, for case-insensitive file systems.
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "archived") {
    return fail(Errc::invalid_argument,
                "the session name '" + name +
                    "' is reserved: para keeps archived branches under <prefix>/archived/. "
                    "Choose another name.");
  }
  return {};
}

std::string generate_session_name(const std::function<bool(const std::string&)>& taken) {
  std::random_device seed;
  std::mt19937 rng(seed());
  std::uniform_int_distribution<size_t> adj(0, kAdjectives.size() - 1);
  std::uniform_int_distribution<size_t> noun(0, kNouns.size() - 1);
  std::string base;
  for (int i = 0; i < 50; ++i) {
    base = std::string(kAdjectives[adj(rng)]) + "_" + kNouns[noun(rng)];
    if (!taken(base)) return base;
  }
  for (int n = 1; n <= 99; ++n) {
    const std::string candidate = base + "_" + std::to_string(n);
    if (!taken(candidate)) return candidate;
  }
  return base + "_" + compact_utc(std::chrono::system_clock::now()) + "_" + random_hex(2);
}

Result<void> validate_branch_name(const std::string& branch) {
  auto bad = [&](const std::string& why) -> Result<void> {
    return fail(Errc::invalid_argument, "the branch name '" + printable(branch) +
                                            "' is not valid: " + why +
                                            ". Use letters, digits, '-', '_', '.' and '/' "
                                            "(e.g. feature/login).");
  };
  if (branch.empty()) return bad("it is empty");
  if (branch.size() > 250) return bad("it is longer than 250 characters");
  if (branch[0] == '-') return bad("it starts with '-'");
  if (branch.rfind("refs/", 0) == 0) return bad("it starts with 'refs/'");
  if (branch == "@" || branch == "HEAD") return bad("'" + branch + "' is reserved by git");
  if (branch.find("..") != std::string::npos) return bad("it contains '..'");
  if (branch.find("@{") != std::string::npos) return bad("it contains '@{'");
  if (branch.find("//") != std::string::npos) return bad("it contains '//'");
  if (branch.front() == '/' || branch.back() == '/') return bad("it starts or ends with '/'");
  if (branch.back() == '.') return bad("it ends with '.'");
  if (branch.size() >= 5 && branch.compare(branch.size() - 5, 5, ".lock") == 0) {
    return bad("it ends with '.lock'");
  }
  for (unsigned char c : branch) {
    if (c < 0x20 || c == 0x7f) return bad("it contains a control character");
    if (c == ' ') return bad("it contains a space");
    if (std::string("~^:?*[\\").find(static_cast<char>(c)) != std::string::npos) {
      return bad(std::string("it contains '") + static_cast<char>(c) + "'");
    }
  }
  // Each component: not starting with '.', not ending with ".lock".
  size_t start = 0;
  while (start <= branch.size()) {
    size_t end = branch.find('/', start);
    if (end == std::string::npos) end = branch.size();
    const std::string part = branch.substr(start, end - start);
    if (!part.empty() && part[0] == '.') return bad("a component starts with '.'");
    if (part.size() >= 5 && part.compare(part.size() - 5, 5, ".lock") == 0) {
      return bad("a component ends with '.lock'");
    }
    start = end + 1;
  }
  return {};
}

}  // namespace para::session
