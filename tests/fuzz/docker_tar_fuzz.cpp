// Fuzzes the tar extractor that copies a container's /workspace back to the
// host: whatever the archive, nothing may be created outside the
// destination, no absolute symlink may be created, and the extractor must
// not crash. Each archive is fed in two pieces into a fresh directory.
//
// Input: byte 0 selects the mode. Odd: the rest is raw archive bytes, with
// a correct checksum written into every non-zero 512-byte block (or almost
// nothing would pass the checksum check). Even: the rest is a list of
// entries {type, name, link, data} (each a length byte then bytes), written
// as ustar headers, with PAX 'x' records for names longer than 100 bytes,
// so that the fuzzer spends its time on paths, links and types.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "docker/tar.h"

namespace {

namespace fs = std::filesystem;

const fs::path& root() {
  static const fs::path dir = [] {
    std::string templ = (fs::temp_directory_path() / "para-tar-fuzz-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    return fs::path(templ);
  }();
  return dir;
}

void fix_checksum(char* h) {
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(h[i]);
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

std::string header(char type, const std::string& name, const std::string& link, size_t size) {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", 0755);
  std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(size));
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  fix_checksum(h);
  return std::string(h, 512);
}

std::string padded(std::string data) {
  data.append((512 - data.size() % 512) % 512, '\0');
  return data;
}

std::string build_archive(std::string_view in) {
  std::string out;
  size_t i = 0;
  const auto take = [&]() -> std::string {
    if (i >= in.size()) return {};
    const size_t want = static_cast<unsigned char>(in[i]);
    ++i;
    const size_t n = std::min(want, in.size() - i);
    std::string s(in.substr(i, n));
    i += n;
    return s;
  };
  while (i < in.size()) {
    static const char kTypes[] = {'0', '5', '2', '1', '3', '6', 'x', 'L', 'S', '7'};
    const char type = kTypes[static_cast<unsigned char>(in[i++]) % sizeof kTypes];
    std::string name = take(), link = take(), data = take();
    if (name.size() > 100) {  // long names travel in a PAX record, as Go's tar writes them
      std::string rec = " path=" + name + "\n";
      rec = std::to_string(rec.size() + std::to_string(rec.size()).size()) + rec;
      out += header('x', "PaxHeaders/x", "", rec.size()) + padded(rec);
    }
    out += header(type, name, link, data.size()) + padded(data);
  }
  return out + std::string(1024, '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string archive;
  if (data[0] & 1) {
    archive = in;
    for (size_t off = 0; off + 512 <= archive.size(); off += 512) {
      char* h = archive.data() + off;
      if (!std::all_of(h, h + 512, [](char c) { return c == 0; })) fix_checksum(h);
    }
  } else {
    archive = build_archive(in);
  }
  const fs::path dest = root() / "dest";
  std::error_code ec;
  fs::remove_all(dest, ec);
  fs::create_directory(dest);
  const std::string_view bytes = archive;
  const size_t split = data[0] % (bytes.size() + 1);
  {
    para::docker::TarExtractor x(
        dest.string(), {.strip_components = size_t((data[0] >> 1) % 2), .max_bytes = 1 << 20});
    if (x.feed(bytes.substr(0, split))) {
      if (x.feed(bytes.substr(split))) (void)x.finish();
    }
  }
  // Everything the archive made is below dest, and no symlink is absolute.
  for (const fs::directory_entry& e : fs::directory_iterator(root())) {
    if (e.path() != dest) std::abort();
  }
  for (auto it = fs::recursive_directory_iterator(dest, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      const fs::path target = fs::read_symlink(it->path(), ec);
      if (!ec && target.is_absolute()) std::abort();
    }
  }
  return 0;
}
