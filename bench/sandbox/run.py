#!/usr/bin/env python3
"""Sandbox start-up cost: `para sandbox run -- true` against the alternatives, same run.

Usage: bench/sandbox/run.py [--build build] [--runs N]

Creates a temporary git repository, then times running
`true`, from spawn to exit, under each peer, interleaved per round (the order
rotates every round so no peer always runs first):

  no sandbox         /bin/true
  bwrap minimal      bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all
                     --die-with-parent --new-session true
  bwrap para argv    the exact bwrap argv para uses for this worktree, from
                     `para sandbox explain --json -- true`, without the
                     `--seccomp FD` pair (FD is a placeholder there: para
                     passes its filter through a memfd), with the
                     placeholder runtime directory replaced by a real one,
                     and without para's step before bwrap (`para
                     __cache-overlays`, which mounts the tool caches'
                     copy-on-write layers): "para run adds" includes it
  para run           para sandbox run -- true
  para run proxied   para sandbox run --profile standard-proxied -- true
                     (para hosts a proxy for the run; para-relay runs inside)
  srt                Anthropic's sandbox-runtime: srt --settings FILE true
                     (installed by npm into bench/sandbox/.scratch, pinned
                     below; it starts its HTTP and SOCKS proxies on loopback)

Prints median and p90 per peer, ratios against both raw bwrap peers and
against srt, and the load average before and after. All network traffic
stays on loopback: nothing here contacts another host.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRT_VERSION = "0.0.78"  # newer releases need Node >= 22.12; Debian 12 ships Node 20
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRATCH = os.path.join(HERE, ".scratch")


def die(message):
    print(f"bench/sandbox: {message}", file=sys.stderr)
    sys.exit(1)


def built_para(build):
    """The built para (BUILD relative to the repository root), with para-relay beside it."""
    build = build if os.path.isabs(build) else os.path.join(ROOT, build)
    para = os.path.join(build, "para")
    for binary in (para, os.path.join(build, "para-relay")):
        if not os.access(binary, os.X_OK):
            die(f"{binary} is missing; run: ninja -C {build} para para-relay")
    return para


def timed(argv, cwd, env):
    """Milliseconds from spawn to exit; raises with stderr if the command fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace').strip()[:600]}")
    return elapsed


def srt_binary():
    """The pinned sandbox-runtime's srt, installing it into .scratch if needed."""
    package = os.path.join(SCRATCH, "node_modules", "@anthropic-ai", "sandbox-runtime",
                           "package.json")
    installed = None
    if os.path.exists(package):
        with open(package) as f:
            installed = json.load(f).get("version")
    if installed != SRT_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm is not installed"
        os.makedirs(SCRATCH, exist_ok=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                               f"@anthropic-ai/sandbox-runtime@{SRT_VERSION}"],
                              cwd=SCRATCH, capture_output=True, text=True)
        if done.returncode != 0:
            return None, "npm install failed: " + done.stderr.strip()[:400]
    return os.path.join(SCRATCH, "node_modules", ".bin", "srt"), None


def para_bwrap_argv(para, repo, env, runtime_dir):
    """bwrap's argv exactly as `para sandbox run -- true` would build it here."""
    done = subprocess.run([para, "sandbox", "explain", "--json", "--", "true"], cwd=repo,
                          env=env, capture_output=True, text=True, check=True)
    argv = json.loads(done.stdout)["argv"]
    if len(argv) > 1 and argv[1] == "__cache-overlays":
        # para's own step before bwrap (the tool caches' overlays): not bwrap's
        # cost, so this peer runs bwrap alone, binding empty layers instead.
        argv = argv[argv.index("--") + 1:]
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--seccomp" and i + 1 < len(argv) and not argv[i + 1].isdigit():
            i += 2  # placeholder descriptor: para hands the filter over in a memfd
            continue
        out.append(argv[i])
        i += 1
    placeholder = [a for a in out if "/run-XXXXXXXXXXXX" in a]
    if placeholder:
        prefix = placeholder[0][: placeholder[0].index("/run-XXXXXXXXXXXX")]
        out = [a.replace(prefix + "/run-XXXXXXXXXXXX", runtime_dir) for a in out]
    for a in out:
        if a.startswith(runtime_dir + "/caches/") and a.endswith("/merged"):
            os.makedirs(a, exist_ok=True)
    return out


def make_repo(tmp):
    """A one-commit repository. The environment (HOME included) stays the user's: the
    mounts para and srt set up depend on what exists in HOME, so a private HOME would
    measure a lighter sandbox than users get."""
    repo = os.path.join(tmp, "repo")
    os.makedirs(repo)
    env = dict(os.environ, PARA_NON_INTERACTIVE="1")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("bench\n")
    subprocess.run(git + ["add", "README"], cwd=repo, env=env, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "init"], cwd=repo, env=env, check=True)
    return repo, env


def stats(xs):
    """Median and nearest-rank p90."""
    return statistics.median(xs), sorted(xs)[math.ceil(0.9 * len(xs)) - 1]


def main():
    p = argparse.ArgumentParser(description="sandbox start-up cost, para against its peers")
    p.add_argument("--build", default="build", help="build directory (default: build)")
    p.add_argument("--runs", type=int, default=30, help="timed rounds (default: 30)")
    args = p.parse_args()
    para = built_para(args.build)
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        die("bwrap is not installed (apt-get install bubblewrap)")

    load_before = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="para-bench-sandbox-")
    try:
        repo, env = make_repo(tmp)
        runtime_dir = os.path.join(tmp, "runtime")
        os.makedirs(os.path.join(runtime_dir, "tmp"))  # para binds <runtime>/tmp as TMPDIR
        settings = os.path.join(tmp, "srt-settings.json")
        with open(settings, "w") as f:
            # The same shape as para's default: the repository writable, no domains allowed.
            json.dump({"filesystem": {"denyRead": [], "allowWrite": [repo], "denyWrite": []},
                       "network": {"allowedDomains": [], "deniedDomains": []}}, f)

        peers = {
            "no sandbox": ["/bin/true"],
            "bwrap minimal": [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                              "--unshare-all", "--die-with-parent", "--new-session", "true"],
            "bwrap para argv": para_bwrap_argv(para, repo, env, runtime_dir),
            "para run": [para, "sandbox", "run", "--", "true"],
            "para run proxied": [para, "sandbox", "run", "--profile", "standard-proxied", "--",
                                 "true"],
        }
        notes = []
        srt, why = srt_binary()
        if srt is not None:
            peers[f"srt {SRT_VERSION}"] = [srt, "--settings", settings, "true"]

        # Warm-up (page cache, npm's first start) and a check that every peer works here.
        for name in list(peers):
            try:
                timed(peers[name], repo, env)
            except RuntimeError as e:
                if not name.startswith("srt"):
                    die(f"{name} does not run here: {e}")
                why = str(e)
                del peers[name]
        if not any(n.startswith("srt") for n in peers):
            notes.append(f"srt {SRT_VERSION}: cannot run here ({why}); not measured")

        times = {name: [] for name in peers}
        order = list(peers)
        for r in range(args.runs):
            for name in order[r % len(order):] + order[: r % len(order)]:
                times[name].append(timed(peers[name], repo, env))
        load_after = os.getloadavg()

        print(f"sandbox start-up of `true`: {args.runs} rounds, peers interleaved; "
              f"{os.cpu_count()} CPUs, bwrap {bwrap_version(bwrap)}")
        print("load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after))
        bases = [b for b in ("bwrap minimal", "bwrap para argv") if b in times]
        srt_name = next((n for n in times if n.startswith("srt")), None)
        if srt_name:
            bases.append(srt_name)
        header = f"{'peer':<18}{'median ms':>11}{'p90 ms':>9}"
        for b in bases:
            header += f"{'/ ' + b:>20}"
        print(header)
        for name, xs in times.items():
            m, p90 = stats(xs)
            line = f"{name:<18}{m:>11.1f}{p90:>9.1f}"
            for b in bases:
                ratio = m / statistics.median(times[b])
                line += f"{ratio:>19.{2 if ratio >= 0.1 else 3}f}x"
            print(line)
        para_m = statistics.median(times["para run"])
        argv_m = statistics.median(times["bwrap para argv"])
        print(f"para run adds {para_m - argv_m:+.1f} ms over bwrap with the same argv")
        if srt_name:
            proxied_m = statistics.median(times["para run proxied"])
            srt_m = statistics.median(times[srt_name])
            print(f"para run proxied / {srt_name}: {proxied_m / srt_m:.2f}x "
                  f"({srt_m / proxied_m:.1f}x faster)")
        for n in notes:
            print(n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bwrap_version(bwrap):
    out = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout
    return out.split()[-1] if out.split() else "?"


if __name__ == "__main__":
    main()
