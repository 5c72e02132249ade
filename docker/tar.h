#pragma once

// Tar archives for the Engine's build contexts and archive endpoints.
//
// Writing: ustar headers, with PAX records for what ustar cannot hold (long
// paths and link targets, huge files). Regular files, directories and
// symlinks keep their modes and mtimes; hard links are stored as regular
// files; device files and FIFOs are refused; sockets are skipped.
//
// Reading: a push parser (feed bytes as they arrive from the daemon) that
// extracts into a directory and refuses anything that would land outside it:
// absolute paths, ".." components, symlinks whose target leaves the
// directory, hard links to outside, and writes through an existing symlink
// (every component is opened with O_NOFOLLOW). Extracted files never keep
// setuid/setgid bits. Understands ustar, PAX ('x', 'g') and GNU long names.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "core/result.h"

namespace para::docker {

/// Receives archive bytes in order. An error stops the writer.
using TarSink = std::function<Result<void>(std::string_view bytes)>;

struct TarOptions {
  /// Put every entry under this archive directory ("workspace" ->
  /// "workspace/src/main.c"); empty = at the top.
  std::string prefix;
  /// Entries to leave out (and not descend into), by path relative to the
  /// directory ("src/main.c", ".git"). nullptr = keep everything.
  std::function<bool(std::string_view relative_path, bool is_dir)> exclude;
  /// Host files added to the archive under a name: {"/bin/busybox", "busybox"}.
  std::vector<std::pair<std::string, std::string>> extra_files;
  /// Owner recorded in the headers; nullopt = the file's own.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

/// Writes the contents of `dir` (not `dir` itself) as a tar stream, entries in
/// sorted order, ending with the two zero blocks. Blocking. Errors: not_found
/// (dir or an extra file missing), invalid_argument (a device file or FIFO,
/// named in the message), io (a read failed or a file changed size while
/// being archived), and whatever the sink returns.
Result<void> write_tar(const std::string& dir, const TarOptions& options, const TarSink& sink);

/// The whole archive in memory (for small build contexts and tests).
Result<std::string> tar_to_string(const std::string& dir, const TarOptions& options = {});

struct ExtractOptions {
  /// Leading path components to drop ("workspace/a/b" with 1 -> "a/b").
  /// Entries with nothing left (the top directory itself) are skipped.
  size_t strip_components = 0;
  /// Limit on the total size of file contents; 0 = unlimited.
  uint64_t max_bytes = 0;
};

/// Extracts a tar stream into an existing directory.
class TarExtractor {
 public:
  TarExtractor(std::string dest, ExtractOptions options = {});
  ~TarExtractor();
  TarExtractor(const TarExtractor&) = delete;
  TarExtractor& operator=(const TarExtractor&) = delete;

  /// Feeds the next bytes, in any split. Errors: invalid_argument (a corrupt
  /// header, an unsafe or unsupported entry; the message names the entry),
  /// io (writing failed), denied (max_bytes exceeded). After an error the
  /// extractor stays failed.
  Result<void> feed(std::string_view data);
  /// Checks that the archive ended cleanly, then applies directory modes and
  /// times. Errors: invalid_argument (truncated archive), io.
  Result<void> finish();

  size_t entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }

 private:
  enum class State { header, file_data, meta_data, skip, end, failed };
  struct PendingDir {
    std::string path;
    mode_t mode;
    int64_t mtime;
  };

  Result<void> on_header();
  Result<void> on_entry(char type, std::string path, std::string link, uint64_t size, mode_t mode,
                        int64_t mtime);
  Result<void> end_file();
  Result<void> on_meta_complete();
  Result<void> fail_with(Error error);

  std::string dest_;
  ExtractOptions options_;
  Fd root_;
  State state_ = State::header;
  std::string block_;     // a partial 512-byte block
  uint64_t left_ = 0;     // data bytes left in the current entry
  uint64_t padding_ = 0;  // padding bytes after the data
  char meta_type_ = 0;    // 'x', 'g', 'L' or 'K' while collecting meta data
  std::string meta_;      // collected meta data
  std::optional<std::string> long_name_, long_link_;  // from 'L'/'K' or PAX
  std::optional<uint64_t> pax_size_;
  std::optional<int64_t> pax_mtime_;
  Fd file_;  // the file being written
  std::string file_path_;
  mode_t file_mode_ = 0;
  int64_t file_mtime_ = 0;
  int zero_blocks_ = 0;
  std::vector<PendingDir> dirs_;
  size_t entries_ = 0;
  uint64_t bytes_ = 0;
  std::optional<Error> error_;
};

/// Extracts a whole in-memory archive. Errors: as TarExtractor.
Result<void> extract_tar(std::string_view archive, const std::string& dest,
                         const ExtractOptions& options = {});

/// Splits and checks an archive path: no absolute paths, no "..", "." and
/// empty components dropped. Errors: invalid_argument. Pure.
Result<std::vector<std::string>> safe_components(std::string_view path);

}  // namespace para::docker
