#!/usr/bin/env python3
"""Splits the CPU time of a `bridge_fixed` run, recorded with `perf record -e cpu-clock`, into
what instruction counts show and what they do not: clock reads, atomic read-modify-writes
(by the crate whose code runs them), the kernel, libc, and the rest of the program's own code.
Prints microseconds per event.

    perf record -F 4000 -e cpu-clock -o run.data ./bridge_fixed direct 300000
    python3 cpu_account.py run.data bridge_fixed 320000 4000

Arguments: the perf data, the executable's file name (its code is split), the events the run
sent (the timed ones plus the 20,000 of the warm-up: the profile covers both), and the
sampling rate. The nats-server child is left out.

An atomic read-modify-write (`lock`-prefixed, or `xchg`) is one instruction to callgrind but
costs tens of cycles, more when another core holds the cache line; a sampled profile charges
that wait to the instruction after it. So the samples that land right after such an
instruction are its cost, give or take the skid of sampling. A clock read
(`clock_gettime` through the vDSO) is a few dozen instructions and about 30 ns here.
"""

import re
import subprocess
import sys
from collections import Counter

CLOCK = re.compile(r"clock_gettime|Timespec|SystemTime|Instant>::now|Start::elapsed")


def owner(symbol):
    if re.match(r"<?symphra::|core::ptr::drop_in_place<symphra::|alloc::sync::Arc|bridge_fixed::counter", symbol):
        return "core bus and events"
    if "symphra_nats" in symbol:
        return "the bridge (symphra-nats)"
    if "tokio::" in symbol:
        return "tokio"
    if re.search(r"bytes::|async_nats", symbol):
        return "bytes and async-nats"
    return "other"


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    data, exe, events, freq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    comms = f"{exe[:15]},tokio-rt-worker"
    report = subprocess.run(
        ["perf", "report", "-i", data, "-n", "--comms", comms, "--sort", "dso,sym", "--stdio"],
        capture_output=True,
        text=True,
    ).stdout
    parts = Counter()
    for line in report.splitlines():
        m = re.match(r"\s+[0-9.]+%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        samples, dso, kind, symbol = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        if dso == "[vdso]" or CLOCK.search(symbol):
            parts["clock reads"] += samples
        elif kind == "k":
            parts["kernel"] += samples
        elif dso.startswith("libc"):
            parts["libc (malloc, free, memcpy)"] += samples
        elif dso == exe:
            parts["own code"] += samples
        else:
            parts["other libraries"] += samples
    annotated = subprocess.run(
        ["perf", "annotate", "-i", data, "--stdio", "--dsos", exe], capture_output=True, text=True
    ).stdout
    atomics = Counter()
    samples = symbol = None
    after_atomic = False
    for line in annotated.splitlines():
        m = re.match(r"\s*Percent \|\s+Source code & Disassembly of \S+ for \S+ \((\d+) samples", line)
        if m:
            samples, symbol, after_atomic = int(m.group(1)), None, False
            continue
        if samples and symbol is None:
            m = re.match(r"\s+:\s+\d+\s+[0-9a-f]+ <(.*)>:", line)
            if m:
                symbol = m.group(1)
        m = re.match(r"\s+([0-9.]+)\s+:\s+[0-9a-f]+:\s+(.*)", line)
        if m and samples:
            percent, instruction = float(m.group(1)), m.group(2)
            if after_atomic and percent > 0 and symbol:
                atomics[owner(symbol)] += percent / 100 * samples
            after_atomic = instruction.startswith(("lock ", "xchg "))
    parts["own code"] -= sum(atomics.values())
    for name, value in atomics.items():
        parts[f"atomics: {name}"] = value
    per_event = lambda n: n * 1e6 / freq / events
    for name, value in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"{per_event(value):7.3f}  {name}")
    print(f"{per_event(sum(parts.values())):7.3f}  total (µs per event)")


if __name__ == "__main__":
    main()
