#pragma once

// Running a launched sandbox in the foreground (`para sandbox run`, `para
// shell`): waiting for it, ending it when para gets SIGINT, SIGTERM or
// SIGHUP (everything inside dies with it), and giving an interactive
// terminal a pseudo-terminal of its own.
//
// Why a pty of its own: bwrap --new-session starts the command in a new
// session without a controlling terminal, so that it can neither push
// keystrokes into the user's terminal (TIOCSTI) nor signal the user's shell.
// A shell there has no job control and Ctrl-C reaches nothing. So para opens
// a fresh pseudo-terminal, hands the sandbox its slave end, which the
// command makes its controlling terminal (ctty_command: util-linux
// `setsid --ctty`), and relays the user's terminal, in raw mode, to the
// master end. TIOCSTI, terminal modes and job control then act on that pty
// only; the user's terminal only ever receives bytes.

#include <signal.h>

#include <string>
#include <vector>

#include "core/fd.h"
#include "core/process.h"
#include "core/result.h"
#include "sandbox/launch.h"

namespace para::sandbox {

/// Blocks the signals run_foreground handles (SIGINT, SIGTERM, SIGHUP,
/// SIGQUIT, SIGWINCH) in the calling thread, and so in every thread started
/// afterwards, and reads them from a signalfd. Create it before starting
/// other threads (the proxy's), so that none of them takes those signals.
/// Children started with core/process.h get an empty mask. Restores the
/// mask when destroyed.
class ForegroundSignals {
 public:
  ForegroundSignals();
  ~ForegroundSignals();
  ForegroundSignals(const ForegroundSignals&) = delete;
  ForegroundSignals& operator=(const ForegroundSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_;
  Fd fd_;
};

/// A fresh pseudo-terminal for an interactive sandbox.
class Pty {
 public:
  /// Opens one with the modes and window size of the user's terminal
  /// `like_fd`. Neither end becomes para's controlling terminal.
  /// Errors: io.
  static Result<Pty> open(int like_fd);
  /// The command's stdin, stdout and stderr.
  int slave() const { return slave_.get(); }
  int master() const { return master_.get(); }
  /// Closes para's copy of the slave end once the sandbox holds it, so that
  /// the master reports the end when the sandbox is gone.
  void close_slave() { slave_.reset(); }

 private:
  Fd master_, slave_;
};

/// `command` prefixed so that it makes its stdin (the pty's slave end) its
/// controlling terminal in a new session: `setsid --ctty --wait --`
/// (util-linux, resolved on the host; the sandbox sees the host's /usr).
/// Without setsid the command runs without a controlling terminal, and a
/// warning says so.
std::vector<std::string> ctty_command(const std::vector<std::string>& command);

struct ForegroundOptions {
  Pty* pty = nullptr;  // relay this pty to the user's terminal (in_fd/out_fd); null = none
  int in_fd = 0;
  int out_fd = 1;
};

struct ForegroundExit {
  ExitStatus status;
  int signal = 0;  // the signal that made para end the sandbox, or 0
};

/// Waits for a launched sandbox, relaying the pty if there is one (the
/// user's terminal is in raw mode meanwhile, restored on return). SIGWINCH
/// resizes the pty; SIGINT, SIGTERM, SIGHUP or SIGQUIT to para end the
/// sandbox with kill_sandbox (which needs LaunchOptions::new_group) and are
/// reported in `signal`. Errors: as wait_sandboxed.
Result<ForegroundExit> run_foreground(Launched& launched, const ForegroundSignals& signals,
                                      const ForegroundOptions& options);

}  // namespace para::sandbox
