#!/usr/bin/env python3
"""Lease takeover times over repeated SIGKILLs of the holder.

Starts one nats-server with JetStream on a free loopback port and three replicas of the
test application (`symphra-fleet-replica`, built by `cargo build -p symphra-fleet`), then
KILLS times: SIGKILL the replica holding the `ticker` lease, time until another replica
prints `STARTED ticker`, start a fresh replica in the killed one's place.

    python3 crates/symphra-fleet/benches/takeover.py [--kills N] [--ttl-ms MS] [--bin PATH]
"""
import argparse, os, queue, signal, socket, statistics, subprocess, sys, tempfile, threading, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--ttl-ms", type=int, default=3000)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("--bin", default=os.path.join(target, "debug", "symphra-fleet-replica"))
    args = parser.parse_args()

    store = tempfile.mkdtemp(prefix="fleet-bench-")
    port = free_port()
    server = subprocess.Popen(["nats-server", "-js", "-sd", store, "-a", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    lines = queue.Queue()
    replicas = {}

    def spawn(name):
        child = subprocess.Popen([args.bin, "--nats", url, "--replica", name, "--ttl-ms", str(args.ttl_ms)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        def forward():
            for line in child.stdout:
                lines.put((name, line.strip(), time.monotonic()))
        threading.Thread(target=forward, daemon=True).start()
        replicas[name] = child

    def wait(predicate, limit):
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit("timed out")
            try:
                item = lines.get(timeout=left)
            except queue.Empty:
                sys.exit("timed out")
            if predicate(*item):
                return item

    try:
        time.sleep(0.5)  # the server's first listen; the replicas retry anyway
        for i in range(3):
            spawn(f"r{i}")
        holder, _, _ = wait(lambda n, l, t: l.startswith("STARTED ticker"), 60)
        times = []
        for k in range(args.kills):
            wait(lambda n, l, t: n == holder and l.startswith("WROTE"), 30)
            replicas[holder].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            replicas.pop(holder).wait()
            dead = holder
            holder, _, at = wait(lambda n, l, t: n != dead and n in replicas and l.startswith("STARTED ticker"), 60)
            times.append(at - killed_at)
            print(f"kill {k + 1}: takeover {times[-1]:.3f} s", flush=True)
            spawn(f"r{3 + k}")
        ttl = args.ttl_ms / 1000
        print(f"TTL {ttl:.1f} s, renew {ttl / 4:.2f} s, bound TTL+renew = {ttl * 1.25:.2f} s")
        print(f"takeover over {len(times)} kills: min {min(times):.3f} s, median {statistics.median(times):.3f} s, max {max(times):.3f} s")
    finally:
        for child in replicas.values():
            child.kill()
        server.kill()

if __name__ == "__main__":
    main()
