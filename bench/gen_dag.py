#!/usr/bin/env python3
"""Write a layered module DAG for the side-by-side benchmarks.

    gen_dag.py N DIR [--seed 42] [--layers L] [--sleep] [--dag-only]

DIR/_dag.json is {"n", "layers", "width", "deps": {name: [dependency, ...]}}: modules
m00000, m00001, ... in layers about sqrt(N) wide (N/L with --layers); each module past the
first layer depends on 1 to 3 distinct modules of the layer below, drawn with Python's
`random.Random(seed)`. The same generator (and seed) as the shared workloads in
shared/bench, so figures stay comparable with the ones quoted there.

Unless --dag-only, DIR also gets one file per module for symphra-modules 0.1.0 (PyPI):
a `BaseModule` subclass whose metadata names the same dependencies, with no-op start and
stop, or with --sleep an `async def start` that sleeps 10 ms. Symphra's side reads only
_dag.json, so both sides run the identical graph.
"""
import argparse
import json
import math
import random
import shutil
import sys
from pathlib import Path

MODULE_SOURCE = '''import asyncio

from symphra_modules import BaseModule, ModuleMetadata


class {cls}(BaseModule):
    @property
    def metadata(self) -> ModuleMetadata:
        return ModuleMetadata(name={name!r}, version="1.0.0", dependencies={deps!r})
{start}
    def stop(self) -> None:
        pass
'''

NOOP_START = '''
    def start(self) -> None:
        pass
'''

SLEEP_START = '''
    async def start(self) -> None:
        await asyncio.sleep(0.01)
'''


def class_name(module: str) -> str:
    """The class a module file defines: m00042 -> M00042Module."""
    return module.capitalize() + "Module"


def layered_dag(n: int, layers: int | None, seed: int) -> dict:
    """The DAG as a dict ready for _dag.json."""
    if n < 1:
        raise ValueError("N must be at least 1")
    width = math.ceil(n / layers) if layers else max(1, round(math.sqrt(n)))
    rng = random.Random(seed)
    names = [f"m{i:05d}" for i in range(n)]
    deps: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        layer = i // width
        if layer == 0:
            deps[name] = []
            continue
        below = names[(layer - 1) * width:layer * width]
        count = min(len(below), rng.randint(1, 3))
        deps[name] = sorted(rng.sample(below, count))
    return {"n": n, "layers": (n - 1) // width + 1, "width": width, "deps": deps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--sleep", action="store_true", help="module starts sleep 10 ms")
    ap.add_argument("--dag-only", action="store_true", help="write only _dag.json")
    args = ap.parse_args()

    dag = layered_dag(args.n, args.layers, args.seed)
    if args.dir.exists():
        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True)
    if not args.dag_only:
        start = SLEEP_START if args.sleep else NOOP_START
        for name, deps in dag["deps"].items():
            source = MODULE_SOURCE.format(cls=class_name(name), name=name, deps=deps, start=start)
            (args.dir / f"{name}.py").write_text(source)
    dag["seed"] = args.seed
    dag["sleep"] = args.sleep
    (args.dir / "_dag.json").write_text(json.dumps(dag))
    edges = sum(len(d) for d in dag["deps"].values())
    print(f"{args.dir}: n={dag['n']} layers={dag['layers']} width={dag['width']} edges={edges}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
