#!/usr/bin/env python3
"""Runs `bridge_fixed` executables in turn, round after round, and prints the medians of the
per-round ratios to the first one (the reference, usually the raw client).

On a shared machine one run's rate says little: a binary's time per event moves by 2x
between consecutive runs. Interleaving old and new binaries and comparing each with the
reference of the same round cancels what the load does to all of them alike.

    python3 interleave.py ROUNDS EVENTS LABEL=EXECUTABLE:PATH ... [--log FILE]

e.g. `python3 interleave.py 15 300000 raw=./old:raw old=./old:direct new=./new:direct`.
Each run's output line is appended to the log (default `interleave.log`) as it comes, so an
interrupted session keeps what it measured. A run that fails (the raw client's warm-up
sometimes loses events, see docs/dev/nats-bridge-cost.md) leaves its round out of the
ratios for that binary only.
"""

import statistics
import subprocess
import sys

# Fields of a `bridge_fixed` line after the path: events, seconds, events/s, then per event:
# user µs, system µs, server µs; then per 1,000 events: worker parks, context switches.
FIELDS = ["n", "secs", "rate", "user", "sys", "server", "parks", "switches"]


def run(executable, path, events):
    done = subprocess.run(
        ["nice", "-n", "10", executable, path, str(events)],
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == path and len(fields) >= 7:
            values = dict(zip(FIELDS, map(float, fields[1:])))
            # An older bench prints no parks or switches.
            values.setdefault("parks", float("nan"))
            values.setdefault("switches", float("nan"))
            values["cpu"] = values["user"] + values["sys"]
            values["all"] = values["cpu"] + values["server"]
            return values
    return None


def main():
    args = sys.argv[1:]
    log = "interleave.log"
    if "--log" in args:
        at = args.index("--log")
        log = args[at + 1]
        del args[at : at + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    rounds, events = int(args[0]), int(args[1])
    specs = []
    for spec in args[2:]:
        label, rest = spec.split("=", 1)
        executable, path = rest.rsplit(":", 1)
        specs.append((label, executable, path))
    results = []
    with open(log, "a") as out:
        for round_ in range(rounds):
            measured = {}
            for label, executable, path in specs:
                values = run(executable, path, events)
                measured[label] = values
                shown = " ".join(f"{values[f]:g}" for f in FIELDS) if values else "FAILED"
                print(f"{round_ + 1} {label} {path} {shown}", file=out, flush=True)
            results.append(measured)
    reference = specs[0][0]
    print(f"{'':12} rounds  time/event  CPU/event (min-max)  CPU+server | medians: CPU µs, parks/1k, switches/1k")
    for label, _, _ in specs:
        pairs = [r for r in results if r.get(label) and r.get(reference)]
        if not pairs:
            print(f"{label:12} no complete round")
            continue

        def ratios(field):
            return sorted(r[label][field] / r[reference][field] for r in pairs if r[reference][field] > 0)

        def median(field):
            return statistics.median(r[label][field] for r in pairs)

        cpu = ratios("cpu")
        time = [1 / x for x in ratios("rate")]
        print(
            f"{label:12} {len(pairs):6}  {statistics.median(time):10.2f}  "
            f"{statistics.median(cpu):5.2f} ({cpu[0]:.2f}-{cpu[-1]:.2f})    "
            f"{statistics.median(ratios('all')):5.2f}    | "
            f"{median('cpu'):.3f}  {median('parks'):.1f}  {median('switches'):.1f}"
        )


if __name__ == "__main__":
    main()
