#!/usr/bin/env python3
"""A commit inside a session's sandbox against the same commit without one, same run.

Usage: bench/sandbox/commit.py [--build build] [--runs N] [--files N]

Creates a temporary repository and a para session in it (`para start`, no
agent), then per round writes --files new files of 4 KiB each in the session
worktree and commits them with `sh -c 'git add -A && git commit -q'`, timed
from spawn to exit, under each peer in turn (the order rotates every round):

  git commit           the shell command run directly in the worktree
  para run true        para sandbox run -- true: the sandbox's own start-up
                       and the branch copy-back with nothing to import
  para run commit      para sandbox run -- the shell command: start-up, the
                       commit into the sandbox's private object store, then
                       the import (pack-objects | index-pack --strict) and
                       the checked branch copy-back

"para adds" is (para run commit - git commit); "import and copy-back" is
that minus the start-up, (para run commit - git commit) - (para run true -
true run directly, about 1 ms). Everything is local: no network.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMIT = ["sh", "-c", "git add -A && git commit -qm round"]

sys.path.insert(0, HERE)
from run import stats, timed  # noqa: E402  (bench/sandbox/run.py)


def main():
    p = argparse.ArgumentParser(description="a sandboxed commit against a plain one")
    p.add_argument("--build", default="build")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--files", type=int, default=200)
    args = p.parse_args()
    if args.runs < 1 or args.files < 1:
        p.error("--runs and --files must be at least 1")
    build = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    para = os.path.join(build, "para")
    if not os.access(para, os.X_OK):
        sys.exit(f"bench/sandbox: {para} is missing; build it first (ninja -C build para)")

    tmp = tempfile.mkdtemp(prefix="para-bench-commit-")
    try:
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)
        env = dict(os.environ, PARA_NON_INTERACTIVE="1", GIT_AUTHOR_NAME="bench",
                   GIT_AUTHOR_EMAIL="bench@localhost", GIT_COMMITTER_NAME="bench",
                   GIT_COMMITTER_EMAIL="bench@localhost")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
        with open(os.path.join(repo, "README"), "w") as f:
            f.write("bench\n")
        subprocess.run(["git", "add", "README"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, env=env, check=True)
        subprocess.run([para, "start", "bench"], cwd=repo, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        worktree = os.path.join(repo, ".para", "worktrees", "bench")

        counter = [0]

        def write_files():
            counter[0] += 1
            for i in range(args.files):
                with open(os.path.join(worktree, f"f{counter[0]}-{i}.txt"), "w") as f:
                    f.write(f"{counter[0]} {i}\n" * 512)

        peers = {
            "git commit": lambda: (write_files(), timed(COMMIT, worktree, env))[1],
            "para run true": lambda: timed([para, "sandbox", "run", "--", "true"], worktree, env),
            "para run commit": lambda: (write_files(),
                                        timed([para, "sandbox", "run", "--"] + COMMIT,
                                              worktree, env))[1],
        }
        names = list(peers)
        for name in names:  # warm-up
            peers[name]()
        times = {name: [] for name in names}
        load_before = os.getloadavg()[0]
        for round_ in range(args.runs):
            for k in range(len(names)):
                name = names[(round_ + k) % len(names)]
                times[name].append(peers[name]())
        load_after = os.getloadavg()[0]
        log = subprocess.run(["git", "log", "--oneline", "para/bench"], cwd=repo, env=env,
                             capture_output=True, text=True, check=True).stdout
        commits = len(log.splitlines())
        fsck = subprocess.run(["git", "fsck", "--no-progress", "--no-dangling"], cwd=repo,
                              env=env, capture_output=True, text=True)

        print(f"bench/sandbox/commit: {args.runs} rounds, {args.files} new files of 4 KiB per "
              f"commit; load average {load_before:.2f} before, {load_after:.2f} after")
        print(f"{'peer':<18}{'median ms':>12}{'p90 ms':>12}")
        med = {}
        for name in names:
            m, p90 = stats(times[name])
            med[name] = m
            print(f"{name:<18}{m:>12.1f}{p90:>12.1f}")
        adds = med["para run commit"] - med["git commit"]
        print(f"para run commit / git commit: ratio {med['para run commit'] / med['git commit']:.2f}, "
              f"para adds {adds:+.1f} ms")
        print(f"import and copy-back (para adds - para run true): {adds - med['para run true']:+.1f} ms")
        print(f"branch para/bench: {commits} commits; git fsck: "
              f"{'clean' if fsck.returncode == 0 else fsck.stderr.strip()[:200]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
