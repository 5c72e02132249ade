#!/usr/bin/env python3
"""Container session start: `para start --container` against `docker run -d`.

Issue 7's benchmark. From spawning the start command to the agent running
(a marker file the agent writes into /workspace appearing on the host), per
round, interleaved in one run so every peer sees the same daemon and load:

  para          `para start NAME --container -p go` (default bridge network)
  docker run    `docker run -d --rm` with the same image, the same mounts
                (worktree at /workspace, the git directories, the status
                directory, the prompt file), user, environment, labels and
                hardening (--cap-drop ALL, no-new-privileges, --init)
  para isolated `para start NAME --container --allow-domains example.test`:
                NetworkMode none, para-relay inside, the session proxy outside,
                against `docker run --network none` (both only with --isolated)

Besides medians and ratios it prints, per pair, the median of the per-round
differences with a bootstrap 95% interval: the daemon's own time drifts by
tens of ms over a run, and a pair's two starts share a round.

Removal (`para cancel NAME --force`, `docker rm -f`) and creating the docker
peer's git worktree are outside the timed region; para creates its worktree
inside `para start`, which is part of what a user waits for.

Everything runs in a temporary git repository with a temporary HOME whose
$HOME/.config/para/config.toml sets the agent to `/bin/sh -c SCRIPT` in the
busybox test image (tests/docker/fixtures.cpp builds it; so does this script
if it is missing). No network traffic leaves the machine: the agent only
touches a file.

    python3 bench/docker/session_start.py [--runs N] [--isolated] [--para PATH]
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

IMAGE = "para-test-busybox:latest"
MARKER = ".para-bench-agent-running"
# The agent: mark that it runs, then stay up until it is removed.
AGENT_SCRIPT = "touch /workspace/" + MARKER + "\nexec sleep 300\n"
ROUND_TIMEOUT_S = 60.0
POLL_S = 0.001
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(argv, env=None, cwd=None, check=True):
    """Runs argv (never through a shell); returns stdout. Raises with stderr on failure."""
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def ensure_image():
    """Builds the busybox test image the way tests/docker/fixtures.cpp does, if missing."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0:
        return
    busybox = shutil.which("busybox")
    if not busybox:
        sys.exit(f"{IMAGE} is missing and busybox is not installed (Debian: busybox-static)")
    with tempfile.TemporaryDirectory(prefix="para-bench-image-") as ctx:
        shutil.copy(os.path.join(SOURCE_ROOT, "tests/docker/busybox-image/Dockerfile"), ctx)
        rootfs = os.path.join(ctx, "rootfs")
        for d in ("bin", "etc", "tmp", "workspace", "root"):
            os.makedirs(os.path.join(rootfs, d))
        os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
        os.chmod(os.path.join(rootfs, "workspace"), 0o777)
        shutil.copy(os.path.realpath(busybox), os.path.join(rootfs, "bin/busybox"))
        os.chmod(os.path.join(rootfs, "bin/busybox"), 0o755)
        for applet in run([busybox, "--list"]).split():
            if applet != "busybox" and "/" not in applet:
                os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        with open(os.path.join(rootfs, "etc/passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n")
        with open(os.path.join(rootfs, "etc/group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")
        run(["docker", "build", "-q", "--label", "dev.para.test=1", "-t", IMAGE, ctx])


class Bench:
    def __init__(self, root, para_bin):
        self.root = root
        self.para = para_bin
        self.home = os.path.join(root, "home")
        self.repo = os.path.join(root, "repo")
        self.docker_trees = os.path.join(root, "docker-worktrees")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Para Bench",
            "GIT_AUTHOR_EMAIL": "bench@para.invalid",
            "GIT_COMMITTER_NAME": "Para Bench",
            "GIT_COMMITTER_EMAIL": "bench@para.invalid",
            "LC_ALL": "C",
            "PARA_NON_INTERACTIVE": "1",
        }
        for name in ("DOCKER_HOST", "DOCKER_CONFIG", "TMPDIR"):
            if name in os.environ:
                self.env[name] = os.environ[name]
        os.makedirs(os.path.join(self.home, ".config/para"))
        os.makedirs(self.repo)
        os.makedirs(self.docker_trees)
        with open(os.path.join(self.home, ".config/para/config.toml"), "w") as f:
            f.write(
                "[agent]\ncommand = "
                + json.dumps(["/bin/sh", "-c", AGENT_SCRIPT])
                + '\n\n[docker]\ndefault_image = "'
                + IMAGE
                + '"\n'
            )
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.repo, "README.md"), "w") as f:
            f.write("bench\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "initial")
        self.common_dir = os.path.realpath(os.path.join(self.repo, ".git"))

    def git(self, *args):
        return run(["git", *args], env=self.env, cwd=self.repo)

    # ---- timing
    @staticmethod
    def wait_marker(argv, env, cwd, marker, container):
        """Spawns argv; times the marker's appearance and the command's exit."""
        t0_wall_ns = time.time_ns()  # to place the daemon's events on the same axis
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        returned = None
        while True:
            now = time.perf_counter()
            if os.path.exists(marker):
                break
            if returned is None and proc.poll() is not None:
                returned = now - t0
                if proc.returncode != 0:
                    out, err = proc.communicate()
                    raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()}")
            if now - t0 > ROUND_TIMEOUT_S:
                proc.kill()
                raise RuntimeError(f"no marker after {ROUND_TIMEOUT_S}s from {' '.join(argv)}")
            time.sleep(POLL_S)
        marker_at = now - t0
        if returned is None:
            proc.wait()
            returned = time.perf_counter() - t0
        if proc.returncode != 0:
            _, err = proc.communicate()
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()}")
        proc.communicate()
        return {"marker": marker_at, "returned": returned, "t0_ns": t0_wall_ns, "name": container}

    # ---- peers
    def para_start(self, name, extra):
        worktree = os.path.join(self.repo, ".para/worktrees", name)
        argv = [self.para, "start", name, "--container", "-p", "go", *extra]
        marker = os.path.join(worktree, MARKER)
        try:
            return self.wait_marker(argv, self.env, self.repo, marker, "para-" + name)
        finally:
            run([self.para, "cancel", name, "--force"], env=self.env, cwd=self.repo, check=False)

    def docker_run(self, name, network=None):
        """docker run -d with what para gives its session container (session/container.cpp)."""
        worktree = os.path.join(self.docker_trees, name)
        self.git("worktree", "add", "-q", "--detach", worktree, "HEAD")
        gitdir = os.path.join(self.common_dir, "worktrees", name)
        private = os.path.join(self.root, "private", name)
        status_dir = os.path.join(private, "session")
        for d in ("refs", "logs", "session"):
            os.makedirs(os.path.join(private, d))
        prompt = os.path.join(private, "task")
        with open(prompt, "w") as f:
            f.write("go")
        container = "para-bench-" + name
        # The same eight binds para makes (the private refs/logs binds go to
        # other targets: the docker peer has no branch of its own).
        mounts = [
            (worktree, "/workspace", False),
            (self.common_dir, self.common_dir, True),
            (self.common_dir + "/objects", self.common_dir + "/objects", False),
            (gitdir, gitdir, False),
            (os.path.join(private, "refs"), "/run/bench/refs", False),
            (os.path.join(private, "logs"), "/run/bench/logs", False),
            (status_dir, "/run/para/session", False),
            (prompt, "/run/para/prompt", True),
        ]
        argv = ["docker", "run", "-d", "--rm", "--name", container, "--init", "-w", "/workspace"]
        argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        argv += ["--user", f"{os.getuid()}:{os.getgid()}", "--stop-timeout", "5"]
        argv += ["--label", "dev.para.bench=1"]
        if network:
            argv += ["--network", network]
        argv += ["-e", f"PARA_SESSION={name}", "-e", "PARA_WORKSPACE=/workspace"]
        argv += ["-e", "PARA_PROMPT_FILE=/run/para/prompt"]
        argv += ["-e", "PARA_STATUS_FILE=/run/para/session/status.json"]
        for src, dst, ro in mounts:
            readonly = ",readonly" if ro else ""
            argv += ["--mount", f"type=bind,source={src},target={dst}{readonly}"]
        argv += [IMAGE, "/bin/sh", "-c", AGENT_SCRIPT]
        marker = os.path.join(worktree, MARKER)
        try:
            return self.wait_marker(argv, self.env, self.repo, marker, container)
        finally:
            run(["docker", "rm", "-f", container], check=False)
            self.git("worktree", "remove", "--force", worktree)


def p90(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def bootstrap_median_interval(xs, resamples=4000, seed=7):
    """The 2.5th and 97.5th percentiles of the median over resamples of xs."""
    rng = random.Random(seed)
    medians = sorted(
        statistics.median(rng.choices(xs, k=len(xs))) for _ in range(resamples)
    )
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def daemon_events(since_s, until_s):
    """{container name: {"create"|"start": ns}} from dockerd's event log."""
    out = run(
        ["docker", "events", "--since", f"{since_s:.3f}", "--until", f"{until_s:.3f}"]
        + ["--filter", "type=container", "--filter", "event=create", "--filter", "event=start"]
        + ["--format", "{{json .}}"]
    )
    events = {}
    for line in out.splitlines():
        e = json.loads(line)
        name = e.get("Actor", {}).get("Attributes", {}).get("name", "")
        events.setdefault(name, {})[e["Action"]] = e["timeNano"]
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="timed rounds (default 20)")
    ap.add_argument(
        "--isolated", action="store_true", help="also para --allow-domains example.test"
    )
    ap.add_argument("--para", default=os.path.join(SOURCE_ROOT, "build/para"), help="para binary")
    args = ap.parse_args()
    if not os.access(args.para, os.X_OK):
        sys.exit(f"{args.para} is not built: ninja -C build para para-relay libpara-docker-http.so")
    ensure_image()

    peers = [("para", lambda b, n: b.para_start(n, []))]
    peers.append(("docker run", lambda b, n: b.docker_run(n)))
    if args.isolated:
        peers.append(
            ("para isolated", lambda b, n: b.para_start(n, ["--allow-domains", "example.test"]))
        )
        # The isolated container has no bridge endpoint: its fair baseline.
        peers.append(("docker run --network none", lambda b, n: b.docker_run(n, "none")))
    rounds = {name: [] for name, _ in peers}

    load_before = os.getloadavg()
    since = time.time()
    with tempfile.TemporaryDirectory(prefix="para-bench-session-") as root:
        bench = Bench(root, os.path.abspath(args.para))
        # One untimed warm-up round per peer, then the peers rotate order each round.
        for i in range(-1, args.runs):
            order = peers[(max(i, 0) % len(peers)) :] + peers[: (max(i, 0) % len(peers))]
            for label, start in order:
                slug = "-".join(w for w in re.split("[^a-z0-9]+", label) if w)
                name = f"b{i + 1}-{slug}"
                timed = start(bench, name)
                if i >= 0:
                    rounds[label].append(timed)
            print(f"round {i + 1} of {args.runs} (0: warm-up) done", file=sys.stderr)
    load_after = os.getloadavg()
    events = daemon_events(since, time.time() + 1)

    ms = lambda s: f"{s * 1000:.1f} ms"
    med = lambda label, key: statistics.median(r[key] for r in rounds[label])
    print(f"{args.runs} rounds, load average (1 min) before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f}")
    print()
    print("| what | to agent running: median | p90 | command returned: median |")
    print("| --- | --- | --- | --- |")
    for label, _ in peers:
        marks = [r["marker"] for r in rounds[label]]
        print(f"| {label} | {ms(med(label, 'marker'))} | {ms(p90(marks))} "
              f"| {ms(med(label, 'returned'))} |")
    ratios = [("para", "docker run")]
    if args.isolated:
        ratios.append(("para isolated", "docker run --network none"))
    for label, base in ratios:
        ratio = med(label, "marker") / med(base, "marker")
        print(f"| **ratio {label} / {base} (median)** | **{ratio:.2f}** | | |")

    # The two of a pair ran in the same round, so their difference per round
    # is free of the daemon's drift over the run; its median with a bootstrap
    # 95% interval says whether para is slower by more than the noise.
    print()
    print("| pair, to agent running | median of per-round differences | 95% interval | "
          "para faster in |")
    print("| --- | --- | --- | --- |")
    for label, base in ratios:
        diffs = [p["marker"] - d["marker"] for p, d in zip(rounds[label], rounds[base])]
        low, high = bootstrap_median_interval(diffs)
        faster = sum(1 for x in diffs if x < 0)
        print(f"| {label} - {base} | {ms(statistics.median(diffs))} | {ms(low)} to {ms(high)} "
              f"| {faster} of {len(diffs)} rounds |")

    # Where the time goes: the daemon's create and start events on the same
    # clock as the spawn (medians of per-round differences).
    print()
    # dockerd logs "start" once runc has started the process, so the agent may
    # already have written the marker: the last column can be negative.
    print("| what | spawn to create event | create to start event | start event to marker |")
    print("| --- | --- | --- | --- |")
    for label, _ in peers:
        parts = [[], [], []]
        for r in rounds[label]:
            e = events.get(r["name"], {})
            if "create" not in e or "start" not in e:
                continue
            create = (e["create"] - r["t0_ns"]) / 1e9
            start = (e["start"] - r["t0_ns"]) / 1e9
            parts[0].append(create)
            parts[1].append(start - create)
            parts[2].append(r["marker"] - start)
        if parts[0]:
            print(f"| {label} | " + " | ".join(ms(statistics.median(p)) for p in parts) + " |")

if __name__ == "__main__":
    main()
