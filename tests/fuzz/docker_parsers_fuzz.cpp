// Fuzzes the parsers that read what the Docker daemon and callers send:
// docker_args (NUL-separated arguments) into a create body, the multiplexed
// output stream, and pull/build progress lines. None may crash, and a parsed
// docker_args must always produce either a valid create body or an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/progress.h"
#include "docker/spec.h"
#include "docker/stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  using namespace para::docker;

  // docker_args
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= bytes.size()) {
    size_t nul = bytes.find('\0', start);
    if (nul == std::string_view::npos) nul = bytes.size();
    args.emplace_back(bytes.substr(start, nul - start));
    start = nul + 1;
  }
  if (auto parsed = parse_docker_args(args, map_env({{"HOST_KEY", "secret"}}))) {
    ContainerSpec spec;
    spec.name = "para-fuzz";
    spec.image = "para-agent:latest";
    apply_docker_args(*parsed, spec);
    if (auto body = create_body(spec)) (void)body->dump();
    (void)isolation_weakenings(*parsed);
  }

  // The multiplexed stream, fed in two pieces.
  size_t total = 0;
  FrameDemuxer demux([&](StreamKind, std::string_view b) {
    total += b.size();
    return true;
  });
  const size_t split = size / 3;
  if (auto a = demux.feed(bytes.substr(0, split)); a && *a) (void)demux.feed(bytes.substr(split));
  (void)demux.finish();
  if (total > size) __builtin_trap();

  // Progress lines.
  PullProgress pull;
  BuildProgress build;
  LineSplitter lines(
      [&](std::string_view line) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) {
          if (auto p = pull.feed(j); p && *p && ((*p)->fraction > 1.0)) __builtin_trap();
          (void)build.feed(j);
        }
        return true;
      },
      4096);
  (void)lines.feed(bytes);
  (void)lines.finish();
  return 0;
}
