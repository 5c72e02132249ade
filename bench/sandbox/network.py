#!/usr/bin/env python3
"""Network through the sandbox: what an agent's HTTP requests cost, para against its peers.

Usage: bench/sandbox/network.py [--build build] [--requests N] [--bytes N] [--rounds N]

A loopback HTTP server (in this process) answers /small (1 KiB) and /big
(--bytes, default 1 GiB). Each peer runs the same shell loop: --requests
sequential `curl` requests for /small (each timed by curl's time_total),
then one download of /big (curl's speed_download). Peers, interleaved per
round:

  direct             curl on the host, no proxy: the physical limit
  para proxy         curl -x through `para proxy` on the host (no sandbox):
                     the proxy alone
  para sandbox       para sandbox run --profile standard-proxied: curl in the
                     sandbox's empty network namespace, through para-relay and
                     the proxy on the session's Unix socket (an agent's path)
  srt                Anthropic's sandbox-runtime (pinned in run.py): curl in
                     its sandbox, through its socat relays and Node proxy

The proxies allow only the server (para: the name bench.test, pinned to
127.0.0.1 with --resolve; srt: 127.0.0.1). Sandbox start-up is not in the
numbers: they come from curl inside. Prints per-request p50/p99, the extra
time per request over direct, and throughput with its ratio to direct, and
the ratios para/srt. Nothing leaves loopback.
"""
import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import SRT_VERSION, built_para, die, make_repo, srt_binary  # noqa: E402

SMALL = b"x" * 1024


def start_server(big_bytes):
    """A threaded HTTP/1.0 server on 127.0.0.1; returns (server, port)."""
    chunk = b"\0" * (1 << 20)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            size = big_bytes if self.path == "/big" else len(SMALL)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.path != "/big":
                self.wfile.write(SMALL)
                return
            left = size
            while left > 0:
                n = min(left, len(chunk))
                self.wfile.write(memoryview(chunk)[:n])
                left -= n

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def loop_script(requests, small_url, big_url, proxy):
    """The shell loop every peer runs: one line per small request (seconds), then
    'BIG <bytes per second>'. proxy: a curl -x value, or '$HTTP_PROXY' (the sandbox's)."""
    via = f'-x "{proxy}" --noproxy ""' if proxy else ""
    return (f'i=0; while [ $i -lt {requests} ]; do i=$((i+1)); '
            f'curl -sS -o /dev/null -w "%{{time_total}}\\n" {via} {small_url} || exit 1; done; '
            f'printf "BIG "; curl -sS -o /dev/null -w "%{{speed_download}}\\n" {via} {big_url}')


def parse(out):
    """(per-request ms list, big bytes/s) from the loop's output."""
    times, speed = [], None
    for line in out.splitlines():
        if line.startswith("BIG "):
            speed = float(line.split()[1])
        elif line.strip():
            times.append(float(line) * 1000)
    return times, speed


def run_peer(argv, cwd, env):
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    times, speed = parse(done.stdout)
    if done.returncode != 0 or speed is None:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[:600]}")
    return times, speed


def main():
    p = argparse.ArgumentParser(description="network through the sandbox, para against its peers")
    p.add_argument("--build", default="build", help="build directory (default: build)")
    p.add_argument("--requests", type=int, default=200, help="small requests per round")
    p.add_argument("--bytes", type=int, default=1 << 30, help="size of the big download")
    p.add_argument("--rounds", type=int, default=3, help="rounds, peers interleaved")
    args = p.parse_args()
    para = built_para(args.build)
    if shutil.which("curl") is None:
        die("curl is not installed")

    server, port = start_server(args.bytes)
    tmp = tempfile.mkdtemp(prefix="para-bench-network-")
    proxy = None
    try:
        repo, env = make_repo(tmp)
        name_url = f"http://bench.test:{port}"
        ip_url = f"http://127.0.0.1:{port}"
        allow = ["--resolve", "bench.test:127.0.0.1", "--allowed-domains", f"bench.test:{port}/plain"]
        proxy = subprocess.Popen([para, "proxy", "--port", "0", "--no-essential-domains", *allow],
                                 cwd=repo, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        proxy_port = None
        for line in proxy.stderr:
            if "listening on" in line and "127.0.0.1:" in line:
                proxy_port = int(line.rsplit("127.0.0.1:", 1)[1].split()[0].strip(")"))
                break
        if proxy_port is None:
            die("para proxy did not say where it listens")
        threading.Thread(target=proxy.stderr.read, daemon=True).start()  # keep draining

        sh = ["sh", "-c"]
        peers = {
            "direct": sh + [loop_script(args.requests, f"{ip_url}/small", f"{ip_url}/big", None)],
            "para proxy": sh + [loop_script(args.requests, f"{name_url}/small", f"{name_url}/big",
                                            f"http://127.0.0.1:{proxy_port}")],
            "para sandbox": [para, "sandbox", "run", "--profile", "standard-proxied", *allow,
                             "--"] + sh + [loop_script(args.requests, f"{name_url}/small",
                                                       f"{name_url}/big", "$HTTP_PROXY")],
        }
        notes = []
        srt, why = srt_binary()
        if srt is not None:
            settings = os.path.join(tmp, "srt-settings.json")
            with open(settings, "w") as f:
                json.dump({"filesystem": {"denyRead": [], "allowWrite": [repo], "denyWrite": []},
                           "network": {"allowedDomains": ["127.0.0.1"], "deniedDomains": []}}, f)
            peers[f"srt {SRT_VERSION}"] = [srt, "--settings", settings] + sh + [
                loop_script(args.requests, f"{ip_url}/small", f"{ip_url}/big", "$HTTP_PROXY")]
        else:
            notes.append(f"srt {SRT_VERSION}: {why}; not measured")

        for name in list(peers):  # warm-up, and a check that each peer works here
            try:
                run_peer(peers[name], repo, env)
            except RuntimeError as e:
                if not name.startswith("srt"):
                    die(f"{name} does not work here: {e}")
                notes.append(f"{name}: cannot run here ({e}); not measured")
                del peers[name]

        times = {n: [] for n in peers}
        speeds = {n: [] for n in peers}
        load_before = os.getloadavg()
        order = list(peers)
        failures = {n: 0 for n in peers}
        for r in range(args.rounds):
            for name in order[r % len(order):] + order[: r % len(order)]:
                try:
                    t, s = run_peer(peers[name], repo, env)
                except RuntimeError as e:
                    if not name.startswith("srt"):
                        die(f"{name} failed: {e}")
                    failures[name] += 1  # srt's relays sometimes refuse; counted, not hidden
                    continue
                times[name] += t
                speeds[name].append(s)
        for name, n in failures.items():
            if n:
                notes.append(f"{name}: {n} of {args.rounds} rounds failed and are not in its figures")
            if n == args.rounds:
                del peers[name]
        load_after = os.getloadavg()

        print(f"network through the sandbox: {args.rounds} rounds of {args.requests} requests "
              f"(1 KiB) and one {args.bytes >> 20} MiB download per peer, interleaved; "
              f"{os.cpu_count()} CPUs")
        print("load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after))
        direct_p50 = statistics.median(times["direct"])
        direct_speed = statistics.median(speeds["direct"])
        print(f"{'peer':<14}{'p50 ms':>9}{'p99 ms':>9}{'extra ms':>10}{'MB/s':>9}{'/ direct':>10}")
        for name in peers:
            xs = sorted(times[name])
            p50 = statistics.median(xs)
            p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
            speed = statistics.median(speeds[name])
            print(f"{name:<14}{p50:>9.2f}{p99:>9.2f}{p50 - direct_p50:>10.2f}"
                  f"{speed / 1e6:>9.0f}{speed / direct_speed:>9.0%} ")
        srt_name = next((n for n in peers if n.startswith("srt")), None)
        if srt_name:
            para_extra = statistics.median(times["para sandbox"]) - direct_p50
            srt_extra = statistics.median(times[srt_name]) - direct_p50
            ratio = statistics.median(speeds["para sandbox"]) / statistics.median(speeds[srt_name])
            print(f"para sandbox / {srt_name}: extra time per request "
                  f"{para_extra / srt_extra:.2f}x, throughput {ratio:.2f}x")
        for n in notes:
            print(n)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
