#!/usr/bin/env python3
"""para start/finish against plain git worktree add/remove, same run.

Usage: bench/sessions/start_finish.py [--para build/para] [--files 10000] [--runs 15]

The repository goes under $TMPDIR (TMPDIR=/dev/shm takes the disk out of the
figures: on a slow disk a checkout's time varies by seconds between runs).

Generates a repository with N files in a temporary directory, then times,
interleaved: `git worktree add -b B PATH HEAD` vs `para start NAME` (no
agent), and `git worktree remove PATH` vs `para finish MSG NAME` (no
changes, so the finish is: stop nothing, status, remove the worktree).
Prints medians, p90s, the ratio and the milliseconds para adds.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time


def run(argv, cwd, env):
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--para", default=os.path.join(os.path.dirname(__file__), "../../build/para"))
    p.add_argument("--files", type=int, default=10000)
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    para = os.path.abspath(args.para)

    tmp = tempfile.mkdtemp(prefix="para-bench-")
    try:
        repo, home = os.path.join(tmp, "repo"), os.path.join(tmp, "home")
        os.makedirs(repo)
        os.makedirs(home)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                   GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b", PARA_NON_INTERACTIVE="1")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
        for i in range(args.files):
            d = os.path.join(repo, "src", f"d{i // 100}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"f{i}.txt"), "w") as f:
                f.write(f"file {i}\n" * 5)
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=repo, env=env, check=True)
        # Warm-up: the first start creates .para and updates .gitignore.
        subprocess.run([para, "start", "warmup"], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([para, "finish", "warm", "warmup"], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)

        t = {"git add": [], "para start": [], "git remove": [], "para finish": []}
        for i in range(args.runs):
            wt = os.path.join(tmp, "wt", f"g{i}")
            add = lambda: t["git add"].append(
                run(["git", "worktree", "add", "-q", "-b", f"g{i}", wt, "HEAD"], repo, env))
            start = lambda: t["para start"].append(run([para, "start", f"p{i}"], repo, env))
            # Alternate who goes first: the second checkout of a round pays for
            # the writeback of the first one's files on a slow disk.
            for step in ((add, start) if i % 2 == 0 else (start, add)):
                step()
            t["git remove"].append(run(["git", "worktree", "remove", wt], repo, env))
            t["para finish"].append(run([para, "finish", "bench", f"p{i}"], repo, env))

        def stats(xs):
            return statistics.median(xs), sorted(xs)[int(0.9 * (len(xs) - 1))]

        print(f"repository: {args.files} files; {args.runs} runs each, interleaved")
        print(f"{'operation':<14}{'median ms':>12}{'p90 ms':>10}")
        for k, xs in t.items():
            m, p90 = stats(xs)
            print(f"{k:<14}{m:>12.1f}{p90:>10.1f}")
        for para_k, git_k in (("para start", "git add"), ("para finish", "git remove")):
            pm, gm = statistics.median(t[para_k]), statistics.median(t[git_k])
            print(f"{para_k} / {git_k}: ratio {pm / gm:.2f}, para adds {pm - gm:+.1f} ms (target < 20 ms)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
