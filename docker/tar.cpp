// Theory of operation.
//
// Writer: a depth-first walk in sorted order. Each entry is lstat'ed, then a
// regular file is opened with O_NOFOLLOW and re-checked with fstat (it must
// still be the same regular file), so a file swapped for a symlink between
// the two calls is never followed. Headers are ustar; what ustar cannot hold
// goes into a PAX 'x' record before the entry. Output is buffered into 64 KiB
// pieces for the sink.
//
// Reader: a state machine over 512-byte blocks.
//   header --(regular file)--> file_data --(data + padding done)--> header
//   header --('x' 'g' 'L' 'K')--> meta_data --> header (overrides the next entry)
//   header --(two zero blocks)--> end
// Paths are checked by safe_components() and every directory on the way is
// opened with O_NOFOLLOW from the destination's fd, so neither a ".." nor a
// symlink (in the archive or already on disk) can move a write outside the
// destination. Existing non-directories are unlinked before being replaced,
// so a pre-existing hard link is never written through. Directory modes and
// times are applied last (finish), deepest first, because creating children
// changes a directory's mtime and a read-only directory would refuse them.

#include "docker/tar.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace para::docker {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kFlush = size_t(64) << 10;
constexpr size_t kMaxMeta = size_t(1) << 20;  // PAX / GNU long-name data

std::string errno_text(int err) {
  return std::strerror(err);
}

// ---------------------------------------------------------------- writer

struct Header {
  char block[kBlock] = {};

  void put_string(size_t offset, size_t len, std::string_view value) {
    std::memcpy(block + offset, value.data(), std::min(len, value.size()));
  }
  // Octal, zero-padded, NUL-terminated in `len` bytes. Returns false when it does not fit.
  bool put_octal(size_t offset, size_t len, uint64_t value) {
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + (value & 7)));
      value >>= 3;
    } while (value != 0);
    if (digits.size() > len - 1) return false;
    digits.insert(digits.begin(), len - 1 - digits.size(), '0');
    std::memcpy(block + offset, digits.data(), len - 1);
    block[offset + len - 1] = '\0';
    return true;
  }
  void finish_checksum() {
    std::memset(block + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : block) sum += c;
    put_octal(148, 7, sum);  // six digits and a NUL, then the space already there
    block[155] = ' ';
  }
};

// One PAX record: "<len> <key>=<value>\n" where <len> counts the whole record.
std::string pax_record(const std::string& key, const std::string& value) {
  const size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = base + 1;
  while (std::to_string(len).size() + base != len) len = std::to_string(len).size() + base;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

class Writer {
 public:
  Writer(const TarOptions& options, const TarSink& sink) : options_(options), sink_(sink) {}

  Result<void> walk(const std::string& root, const std::string& rel) {
    const std::string path = rel.empty() ? root : root + "/" + rel;
    // O_NOFOLLOW: a directory swapped for a symlink after lstat is not followed.
    const int dir_fd =
        ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (rel.empty() ? 0 : O_NOFOLLOW));
    DIR* d = dir_fd < 0 ? nullptr : ::fdopendir(dir_fd);
    if (d == nullptr) {
      const int err = errno;
      if (dir_fd >= 0) ::close(dir_fd);
      return fail(err == ENOENT ? Errc::not_found : Errc::io,
                  "cannot read directory " + path + ": " + errno_text(err), err);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string child_rel = rel.empty() ? name : rel + "/" + name;
      const std::string child = root + "/" + child_rel;
      struct stat st {};
      if (::lstat(child.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed while we walk: nothing to archive
        const int err = errno;
        return fail(Errc::io, "cannot stat " + child + ": " + errno_text(err), err);
      }
      const bool is_dir = S_ISDIR(st.st_mode);
      if (options_.exclude && options_.exclude(child_rel, is_dir)) continue;
      if (Result<void> r = add(child, archive_name(child_rel), st); !r) return r;
      if (is_dir) {
        if (Result<void> r = walk(root, child_rel); !r) return r;
      }
    }
    return {};
  }

  Result<void> add_extra(const std::string& given_path, const std::string& name) {
    // Extra files are named by the caller, so a symlink is followed (once, here).
    char resolved[PATH_MAX];
    const std::string host_path =
        ::realpath(given_path.c_str(), resolved) != nullptr ? resolved : given_path;
    struct stat st {};
    if (::stat(host_path.c_str(), &st) != 0) {
      const int err = errno;
      return fail(err == ENOENT ? Errc::not_found : Errc::io,
                  "cannot add " + host_path + " to the archive: " + errno_text(err), err);
    }
    if (!S_ISREG(st.st_mode)) {
      return fail(Errc::invalid_argument, host_path + " is not a regular file");
    }
    return add(host_path, archive_name(name), st);
  }

  Result<void> end() {
    static const char zeros[2 * kBlock] = {};
    if (Result<void> r = emit(std::string_view(zeros, sizeof zeros)); !r) return r;
    return flush();
  }

 private:
  std::string archive_name(const std::string& rel) const {
    return options_.prefix.empty() ? rel : options_.prefix + "/" + rel;
  }

  Result<void> add(const std::string& host_path, std::string name, const struct stat& st) {
    char type;
    std::string link;
    uint64_t size = 0;
    Fd fd;
    if (S_ISREG(st.st_mode)) {
      type = '0';
      fd.reset(::open(host_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      struct stat now {};
      if (!fd.valid() || ::fstat(fd.get(), &now) != 0 || !S_ISREG(now.st_mode) ||
          now.st_ino != st.st_ino) {
        const int err = errno;
        return fail(Errc::io, "cannot read " + host_path + " (it changed while archiving)", err);
      }
      size = static_cast<uint64_t>(now.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      type = '5';
      name += "/";
    } else if (S_ISLNK(st.st_mode)) {
      type = '2';
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      const ssize_t n = ::readlink(host_path.c_str(), target.data(), target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size()) {
        const int err = errno;
        return fail(Errc::io, "cannot read the symlink " + host_path, err);
      }
      target.resize(static_cast<size_t>(n));
      link = std::move(target);
    } else if (S_ISSOCK(st.st_mode)) {
      return {};  // a socket has no content to archive (GNU tar skips them too)
    } else {
      return fail(Errc::invalid_argument,
                  host_path +
                      " is a device file or FIFO; only regular files, directories and "
                      "symlinks can go into an archive");
    }
    const uint64_t mode = st.st_mode & 07777;
    const uint64_t uid = options_.uid ? *options_.uid : st.st_uid;
    const uint64_t gid = options_.gid ? *options_.gid : st.st_gid;
    const uint64_t mtime = st.st_mtime < 0 ? 0 : static_cast<uint64_t>(st.st_mtime);

    Header h;
    std::string pax;
    if (name.size() <= 100) {
      h.put_string(0, 100, name);
    } else if (size_t split = ustar_split(name); split != std::string::npos) {
      h.put_string(345, 155, std::string_view(name).substr(0, split));
      h.put_string(0, 100, std::string_view(name).substr(split + 1));
    } else {
      pax += pax_record("path", name);
      h.put_string(0, 100, name.substr(0, 99));
    }
    if (link.size() > 100) {
      pax += pax_record("linkpath", link);
    } else {
      h.put_string(157, 100, link);
    }
    h.put_octal(100, 8, mode);
    if (!h.put_octal(108, 8, uid)) {
      pax += pax_record("uid", std::to_string(uid));
      h.put_octal(108, 8, 0);
    }
    if (!h.put_octal(116, 8, gid)) {
      pax += pax_record("gid", std::to_string(gid));
      h.put_octal(116, 8, 0);
    }
    if (!h.put_octal(124, 12, size)) {
      pax += pax_record("size", std::to_string(size));
      h.put_octal(124, 12, 0);
    }
    if (!h.put_octal(136, 12, mtime)) h.put_octal(136, 12, 0);
    h.block[156] = type;
    h.put_string(257, 6, std::string_view("ustar\0", 6));
    h.put_string(263, 2, "00");
    h.finish_checksum();

    if (!pax.empty()) {
      Header ph;
      std::string base = name;
      while (!base.empty() && base.back() == '/') base.pop_back();
      base = base.substr(base.rfind('/') == std::string::npos ? 0 : base.rfind('/') + 1);
      ph.put_string(0, 100, ("PaxHeaders/" + base).substr(0, 99));
      ph.put_octal(100, 8, 0644);
      ph.put_octal(108, 8, 0);
      ph.put_octal(116, 8, 0);
      ph.put_octal(124, 12, pax.size());
      ph.put_octal(136, 12, mtime);
      ph.block[156] = 'x';
      ph.put_string(257, 6, std::string_view("ustar\0", 6));
      ph.put_string(263, 2, "00");
      ph.finish_checksum();
      if (Result<void> r = emit(std::string_view(ph.block, kBlock)); !r) return r;
      if (Result<void> r = emit_padded(pax); !r) return r;
    }
    if (Result<void> r = emit(std::string_view(h.block, kBlock)); !r) return r;
    if (type == '0') return copy_file(fd.get(), size, host_path);
    return {};
  }

  // Where to split a long name into ustar prefix (<=155) and name (<=100), at a '/'.
  static size_t ustar_split(const std::string& name) {
    if (name.size() > 256) return std::string::npos;
    for (size_t i = name.size() > 101 ? name.size() - 101 : 0; i < name.size() && i <= 155; ++i) {
      if (name[i] == '/' && i > 0 && name.size() - i - 1 <= 100 && name.size() - i - 1 > 0) {
        return i;
      }
    }
    return std::string::npos;
  }

  Result<void> copy_file(int fd, uint64_t size, const std::string& path) {
    uint64_t left = size;
    char buf[kFlush];
    while (left > 0) {
      const ssize_t n = ::read(fd, buf, static_cast<size_t>(std::min<uint64_t>(left, sizeof buf)));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        return fail(Errc::io, "cannot read " + path + ": " + errno_text(err), err);
      }
      if (n == 0) return fail(Errc::io, path + " shrank while it was being archived");
      if (Result<void> r = emit(std::string_view(buf, static_cast<size_t>(n))); !r) return r;
      left -= static_cast<uint64_t>(n);
    }
    return pad(size);
  }

  Result<void> emit_padded(const std::string& data) {
    if (Result<void> r = emit(data); !r) return r;
    return pad(data.size());
  }

  Result<void> pad(uint64_t size) {
    static const char zeros[kBlock] = {};
    const size_t rest = static_cast<size_t>(size % kBlock);
    if (rest == 0) return {};
    return emit(std::string_view(zeros, kBlock - rest));
  }

  Result<void> emit(std::string_view bytes) {
    buffer_.append(bytes);
    if (buffer_.size() >= kFlush) return flush();
    return {};
  }

  Result<void> flush() {
    if (buffer_.empty()) return {};
    Result<void> r = sink_(buffer_);
    buffer_.clear();
    return r;
  }

  const TarOptions& options_;
  const TarSink& sink_;
  std::string buffer_;
};

// ---------------------------------------------------------------- reader helpers

std::string field(const char* p, size_t len) {
  size_t n = 0;
  while (n < len && p[n] != '\0') ++n;
  return std::string(p, n);
}

// Octal (space/NUL padded) or GNU base-256 numbers.
std::optional<uint64_t> number(const char* p, size_t len) {
  const auto u = [&](size_t i) { return static_cast<unsigned char>(p[i]); };
  if (u(0) & 0x80) {
    if (u(0) != 0x80) return std::nullopt;  // negative base-256: not for sizes we accept
    uint64_t v = 0;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | u(i);
    }
    return v;
  }
  size_t i = 0;
  while (i < len && (p[i] == ' ' || p[i] == '\0')) ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 61) return std::nullopt;
    v = (v << 3) | static_cast<uint64_t>(p[i] - '0');
    any = true;
  }
  for (; i < len; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  }
  if (!any) return uint64_t{0};
  return v;
}

bool checksum_ok(const char* block) {
  const std::optional<uint64_t> stored = number(block + 148, 8);
  if (!stored) return false;
  uint64_t sum_unsigned = 0;
  int64_t sum_signed = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const char c = (i >= 148 && i < 156) ? ' ' : block[i];
    sum_unsigned += static_cast<unsigned char>(c);
    sum_signed += static_cast<signed char>(c);
  }
  return *stored == sum_unsigned || static_cast<int64_t>(*stored) == sum_signed;
}

std::string join(const std::vector<std::string>& parts, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

// Opens (creating when asked) each directory of `parts` below `root`, never
// following a symlink. Returns the fd of the last one.
Result<Fd> open_dirs(int root, const std::vector<std::string>& parts, size_t count, bool create,
                     const std::string& entry) {
  Fd cur(::dup(root));
  if (!cur.valid()) return fail(Errc::io, "dup failed", errno);
  for (size_t i = 0; i < count; ++i) {
    int fd = ::openat(cur.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        const int err = errno;
        return fail(Errc::io, "cannot create directory for '" + entry + "': " + errno_text(err),
                    err);
      }
      fd = ::openat(cur.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      const int err = errno;
      if (err == ELOOP || err == ENOTDIR) {
        return fail(Errc::invalid_argument,
                    "archive entry '" + entry +
                        "' would be written through a symlink or a "
                        "file (" +
                        join({parts.begin(), parts.begin() + static_cast<long>(i) + 1}) + ")");
      }
      return fail(err == ENOENT ? Errc::not_found : Errc::io,
                  "archive entry '" + entry + "': " + errno_text(err), err);
    }
    cur.reset(fd);
  }
  return cur;
}

// Removes whatever non-directory is at `name` so that it can be recreated.
Result<void> clear_slot(int dir, const std::string& name, const std::string& entry) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0) return {};
    return fail(Errc::invalid_argument,
                "archive entry '" + entry + "' would replace a non-empty directory");
  }
  if (::unlinkat(dir, name.c_str(), 0) != 0) {
    const int err = errno;
    return fail(Errc::io, "cannot replace '" + entry + "': " + errno_text(err), err);
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- public writer

Result<void> write_tar(const std::string& dir, const TarOptions& options, const TarSink& sink) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(Errc::not_found, dir + " is not a directory");
  }
  Writer w(options, sink);
  if (Result<void> r = w.walk(dir, ""); !r) return r;
  for (const auto& [host, name] : options.extra_files) {
    if (Result<void> r = w.add_extra(host, name); !r) return r;
  }
  return w.end();
}

Result<std::string> tar_to_string(const std::string& dir, const TarOptions& options) {
  std::string out;
  Result<void> r = write_tar(dir, options, [&](std::string_view bytes) -> Result<void> {
    out.append(bytes);
    return {};
  });
  if (!r) return fail(r.error());
  return out;
}

Result<std::vector<std::string>> safe_components(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "archive path contains a NUL byte");
  }
  if (!path.empty() && path[0] == '/') {
    return fail(Errc::invalid_argument,
                "archive entry '" + std::string(path) + "' has an absolute path");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view part = path.substr(start, slash - start);
    if (part == "..") {
      return fail(Errc::invalid_argument,
                  "archive entry '" + std::string(path) + "' contains '..'");
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = slash + 1;
  }
  return parts;
}

// ---------------------------------------------------------------- extractor

TarExtractor::TarExtractor(std::string dest, ExtractOptions options)
    : dest_(std::move(dest)), options_(options) {
  root_.reset(::open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_.valid()) {
    const int err = errno;
    error_ = fail(err == ENOENT ? Errc::not_found : Errc::io,
                  "cannot open " + dest_ + " to extract into: " + errno_text(err), err);
    state_ = State::failed;
  }
}

TarExtractor::~TarExtractor() = default;

Result<void> TarExtractor::fail_with(Error error) {
  state_ = State::failed;
  file_.reset();
  error_ = error;
  return error;
}

Result<void> TarExtractor::feed(std::string_view data) {
  while (!data.empty()) {
    switch (state_) {
      case State::failed:
        return *error_;
      case State::end:
        return {};  // bytes after the end marker (block padding) are ignored
      case State::header: {
        const size_t take = std::min(data.size(), kBlock - block_.size());
        block_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (block_.size() < kBlock) break;
        Result<void> r = on_header();
        block_.clear();
        if (!r) return fail_with(r.error());
        break;
      }
      case State::file_data:
      case State::meta_data:
      case State::skip: {
        if (left_ > 0) {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(data.size(), left_));
          const std::string_view piece = data.substr(0, take);
          if (state_ == State::file_data) {
            size_t off = 0;
            while (off < piece.size()) {
              const ssize_t n = ::write(file_.get(), piece.data() + off, piece.size() - off);
              if (n < 0) {
                if (errno == EINTR) continue;
                const int err = errno;
                return fail_with(
                    fail(Errc::io, "cannot write " + file_path_ + ": " + errno_text(err), err));
              }
              off += static_cast<size_t>(n);
            }
          } else if (state_ == State::meta_data) {
            meta_.append(piece);
          }
          left_ -= take;
          data.remove_prefix(take);
          if (left_ > 0) break;
        }
        if (padding_ > 0) {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(data.size(), padding_));
          padding_ -= take;
          data.remove_prefix(take);
          if (padding_ > 0) break;
        }
        Result<void> r;
        if (state_ == State::file_data) r = end_file();
        if (state_ == State::meta_data) r = on_meta_complete();
        if (!r) return fail_with(r.error());
        state_ = State::header;
        break;
      }
    }
  }
  // A zero-length data entry completes without more input.
  if ((state_ == State::file_data || state_ == State::meta_data || state_ == State::skip) &&
      left_ == 0 && padding_ == 0) {
    Result<void> r;
    if (state_ == State::file_data) r = end_file();
    if (state_ == State::meta_data) r = on_meta_complete();
    if (!r) return fail_with(r.error());
    state_ = State::header;
  }
  return {};
}

Result<void> TarExtractor::on_header() {
  const char* b = block_.data();
  if (std::all_of(b, b + kBlock, [](char c) { return c == '\0'; })) {
    if (++zero_blocks_ == 2) state_ = State::end;
    return {};
  }
  zero_blocks_ = 0;
  if (!checksum_ok(b)) {
    return fail(Errc::invalid_argument, "the archive is corrupt (bad header checksum)");
  }
  const char type = b[156];
  std::optional<uint64_t> size = number(b + 124, 12);
  if (!size) return fail(Errc::invalid_argument, "the archive is corrupt (bad size field)");
  if (pax_size_ && type != 'x' && type != 'g' && type != 'L' && type != 'K') size = pax_size_;

  if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
    if (*size > kMaxMeta) {
      return fail(Errc::invalid_argument, "the archive has an oversized extended header");
    }
    meta_type_ = type;
    meta_.clear();
    left_ = *size;
    padding_ = (kBlock - *size % kBlock) % kBlock;
    state_ = State::meta_data;
    return {};
  }

  std::string name = field(b, 100);
  const std::string magic = field(b + 257, 6);
  if (magic == "ustar") {
    const std::string prefix = field(b + 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  std::string link = field(b + 157, 100);
  if (long_name_) name = *long_name_;
  if (long_link_) link = *long_link_;
  const mode_t mode = static_cast<mode_t>(number(b + 100, 8).value_or(0644) & 07777);
  int64_t mtime = static_cast<int64_t>(number(b + 136, 12).value_or(0));
  if (pax_mtime_) mtime = *pax_mtime_;
  long_name_.reset();
  long_link_.reset();
  pax_size_.reset();
  pax_mtime_.reset();
  return on_entry(type, std::move(name), std::move(link), *size, mode, mtime);
}

Result<void> TarExtractor::on_meta_complete() {
  const char type = meta_type_;
  meta_type_ = 0;
  if (type == 'L' || type == 'K') {
    std::string value = meta_;
    while (!value.empty() && value.back() == '\0') value.pop_back();
    (type == 'L' ? long_name_ : long_link_) = value;
    return {};
  }
  if (type == 'g') return {};  // global records (comments, charset): nothing we use
  // "<len> <key>=<value>\n" records.
  std::string_view rest = meta_;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) break;
    size_t len = 0;
    for (char c : rest.substr(0, space)) {
      if (c < '0' || c > '9')
        return fail(Errc::invalid_argument, "the archive has a bad PAX record");
      len = len * 10 + static_cast<size_t>(c - '0');
      if (len > rest.size()) break;
    }
    if (len <= space + 1 || len > rest.size() || rest[len - 1] != '\n') {
      return fail(Errc::invalid_argument, "the archive has a bad PAX record");
    }
    const std::string_view record = rest.substr(space + 1, len - space - 2);
    rest.remove_prefix(len);
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = record.substr(0, eq);
    const std::string value(record.substr(eq + 1));
    if (key == "path") {
      long_name_ = value;
    } else if (key == "linkpath") {
      long_link_ = value;
    } else if (key == "size") {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') {
        return fail(Errc::invalid_argument, "the archive has a bad PAX size");
      }
      pax_size_ = v;
    } else if (key == "mtime") {
      pax_mtime_ = std::strtoll(value.c_str(), nullptr, 10);  // fraction ignored
    }
  }
  return {};
}

Result<void> TarExtractor::on_entry(char type, std::string name, std::string link, uint64_t size,
                                    mode_t mode, int64_t mtime) {
  ++entries_;
  Result<std::vector<std::string>> parts = safe_components(name);
  if (!parts) return fail(parts.error());
  const bool has_data = type == '0' || type == '\0' || type == '7';
  const auto skip_data = [&]() -> Result<void> {
    left_ = has_data ? size : 0;
    padding_ = has_data ? (kBlock - size % kBlock) % kBlock : 0;
    state_ = State::skip;
    return {};
  };
  if (parts->size() <= options_.strip_components) return skip_data();
  std::vector<std::string> path(parts->begin() + static_cast<long>(options_.strip_components),
                                parts->end());
  const std::string rel = join(path);

  switch (type) {
    case '0':
    case '\0':
    case '7': {
      if (options_.max_bytes != 0 && bytes_ + size > options_.max_bytes) {
        return fail(Errc::denied, "the archive holds more than " +
                                      std::to_string(options_.max_bytes) + " bytes of files");
      }
      Result<Fd> dir = open_dirs(root_.get(), path, path.size() - 1, true, rel);
      if (!dir) return fail(dir.error());
      if (Result<void> r = clear_slot(dir->get(), path.back(), rel); !r) return r;
      file_.reset(::openat(dir->get(), path.back().c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!file_.valid()) {
        const int err = errno;
        return fail(Errc::io, "cannot create " + rel + ": " + errno_text(err), err);
      }
      file_path_ = rel;
      file_mode_ = mode & 0777;  // never setuid/setgid from an archive
      file_mtime_ = mtime;
      bytes_ += size;
      left_ = size;
      padding_ = (kBlock - size % kBlock) % kBlock;
      state_ = State::file_data;
      return {};
    }
    case '5': {
      Result<Fd> parent = open_dirs(root_.get(), path, path.size() - 1, true, rel);
      if (!parent) return fail(parent.error());
      struct stat st {};
      if (::fstatat(parent->get(), path.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          !S_ISDIR(st.st_mode)) {
        if (Result<void> r = clear_slot(parent->get(), path.back(), rel); !r) return r;
      }
      if (::mkdirat(parent->get(), path.back().c_str(), 0700) != 0 && errno != EEXIST) {
        const int err = errno;
        return fail(Errc::io, "cannot create directory " + rel + ": " + errno_text(err), err);
      }
      dirs_.push_back({rel, static_cast<mode_t>(mode & 0777), mtime});
      return skip_data();
    }
    case '2': {
      // The target, resolved from the link's directory, must stay inside.
      if (link.empty() || link[0] == '/') {
        return fail(Errc::invalid_argument, "archive entry '" + rel +
                                                "' is a symlink to an absolute path (" + link +
                                                "), which would point outside " + dest_);
      }
      long depth = static_cast<long>(path.size()) - 1;
      size_t start = 0;
      while (start <= link.size()) {
        size_t slash = link.find('/', start);
        if (slash == std::string::npos) slash = link.size();
        const std::string_view part = std::string_view(link).substr(start, slash - start);
        if (part == "..") {
          if (--depth < 0) {
            return fail(Errc::invalid_argument, "archive entry '" + rel + "' is a symlink to " +
                                                    link + ", outside " + dest_);
          }
        } else if (!part.empty() && part != ".") {
          ++depth;
        }
        start = slash + 1;
      }
      Result<Fd> dir = open_dirs(root_.get(), path, path.size() - 1, true, rel);
      if (!dir) return fail(dir.error());
      if (Result<void> r = clear_slot(dir->get(), path.back(), rel); !r) return r;
      if (::symlinkat(link.c_str(), dir->get(), path.back().c_str()) != 0) {
        const int err = errno;
        return fail(Errc::io, "cannot create symlink " + rel + ": " + errno_text(err), err);
      }
      return skip_data();
    }
    case '1': {
      Result<std::vector<std::string>> target = safe_components(link);
      if (!target) return fail(target.error());
      if (target->size() <= options_.strip_components) {
        return fail(Errc::invalid_argument,
                    "archive entry '" + rel + "' is a hard link to outside the extracted tree");
      }
      std::vector<std::string> tpath(target->begin() + static_cast<long>(options_.strip_components),
                                     target->end());
      Result<Fd> tdir = open_dirs(root_.get(), tpath, tpath.size() - 1, false, rel);
      if (!tdir) return fail(tdir.error());
      Result<Fd> dir = open_dirs(root_.get(), path, path.size() - 1, true, rel);
      if (!dir) return fail(dir.error());
      if (Result<void> r = clear_slot(dir->get(), path.back(), rel); !r) return r;
      if (::linkat(tdir->get(), tpath.back().c_str(), dir->get(), path.back().c_str(), 0) != 0) {
        const int err = errno;
        return fail(
            Errc::invalid_argument,
            "archive entry '" + rel + "': cannot link to " + join(tpath) + ": " + errno_text(err),
            err);
      }
      return skip_data();
    }
    case '3':
    case '4':
    case '6':
      return fail(Errc::invalid_argument,
                  "archive entry '" + rel + "' is a device file or FIFO; refusing to create it");
    default:
      return fail(Errc::invalid_argument, "archive entry '" + rel + "' has an unsupported type '" +
                                              std::string(1, type) + "'");
  }
}

Result<void> TarExtractor::end_file() {
  if (::fchmod(file_.get(), file_mode_) != 0) {
    const int err = errno;
    return fail(Errc::io, "cannot set the mode of " + file_path_, err);
  }
  const timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(file_mtime_), 0}};
  ::futimens(file_.get(), times);  // best effort: a wrong mtime loses nothing
  file_.reset();
  return {};
}

Result<void> TarExtractor::finish() {
  if (state_ == State::failed) return *error_;
  if (state_ != State::end && (state_ != State::header || !block_.empty())) {
    return fail_with(fail(Errc::invalid_argument, "the archive is truncated"));
  }
  // Deepest first, so that a parent's mtime is set after its children changed it.
  std::sort(dirs_.begin(), dirs_.end(), [](const PendingDir& a, const PendingDir& b) {
    return std::count(a.path.begin(), a.path.end(), '/') >
           std::count(b.path.begin(), b.path.end(), '/');
  });
  for (const PendingDir& d : dirs_) {
    Result<std::vector<std::string>> parts = safe_components(d.path);
    if (!parts) return fail_with(parts.error());
    Result<Fd> fd = open_dirs(root_.get(), *parts, parts->size(), false, d.path);
    if (!fd) return fail_with(fd.error());
    // Owner rwx is kept: a directory we extracted must stay ours to update or remove.
    ::fchmod(fd->get(), d.mode | 0700);
    const timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(d.mtime), 0}};
    ::futimens(fd->get(), times);
  }
  dirs_.clear();
  return {};
}

Result<void> extract_tar(std::string_view archive, const std::string& dest,
                         const ExtractOptions& options) {
  TarExtractor x(dest, options);
  if (Result<void> r = x.feed(archive); !r) return r;
  return x.finish();
}

}  // namespace para::docker
