#include "docker/redact.h"

#include <algorithm>

namespace para::docker {

std::string redact(std::string_view text, const std::vector<std::string>& secret_values) {
  std::vector<std::string_view> secrets;
  for (const std::string& s : secret_values) {
    if (!s.empty()) secrets.emplace_back(s);
  }
  if (secrets.empty()) return std::string(text);
  std::sort(secrets.begin(), secrets.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  // One left-to-right pass over the original text: a replacement is never
  // scanned again, so a short secret cannot match inside the marker.
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    auto hit = std::find_if(secrets.begin(), secrets.end(),
                            [&](std::string_view s) { return rest.starts_with(s); });
    if (hit != secrets.end()) {
      out += kRedacted;
      i += hit->size();
    } else {
      out += text[i];
      ++i;
    }
  }
  return out;
}

}  // namespace para::docker
