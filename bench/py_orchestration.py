#!/usr/bin/env python3
"""One orchestration run of symphra-modules 0.1.0 (PyPI), in this fresh process.

    python py_orchestration.py DIR        (DIR written by gen_dag.py, without --dag-only)

Prints one line `RESULT {json}` with each phase's time in seconds:

- discover: `ModuleManager.discover_modules()` (0.1.0 lists the file names only);
- load: `load_all_modules()`, which imports every file; 0.1.0's loader then registers no
  module (its class check looks at the metaclass), so the imported classes are registered
  by hand through the library's own registry, and that time is counted here too;
- resolve: the library's `DependencyResolver` over every module (the 0.1.0 manager never
  resolves dependencies itself);
- install: `registry.install` of every module (start_all_modules only starts installed ones);
- start / stop: `start_all_modules()` / `stop_all_modules()`.

The counts (`registered`, `started`, ...) are there to check that the run did the whole job.
"""
import json
import logging
import os
import sys
import time
from pathlib import Path

now = time.perf_counter


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(sys.argv[1]).resolve()
    dag = json.loads((folder / "_dag.json").read_text())
    out: dict = {"side": "python", "n": dag["n"], "layers": dag["layers"]}

    t = now()
    from symphra_modules import ModuleManager, ModuleState
    from symphra_modules.resolver import DependencyResolver
    out["import_library"] = now() - t
    # 0.1.0 logs an error per module its loader cannot register; turn that off (it would
    # cost the Python side about a second at N = 10,000).
    logging.getLogger("symphra_modules").setLevel(logging.CRITICAL + 1)

    t = now()
    manager = ModuleManager(module_dirs=[str(folder)])
    names = manager.discover_modules()
    out["discover"] = now() - t
    out["discovered"] = len(names)

    t = now()
    manager.load_all_modules()
    if not manager.list_modules():
        # The 0.1.0 loader bug: register the classes it imported, by module file.
        # The loader names the files it imports by their path under the folder given
        # (resolved above), so a plain string comparison finds them.
        prefix = str(folder) + os.sep
        by_file = {
            m.__file__: m
            for m in list(sys.modules.values())
            if isinstance(getattr(m, "__file__", None), str) and m.__file__.startswith(prefix)
        }
        for name in names:
            module = by_file.get(f"{prefix}{name}.py")
            if module is None:
                raise SystemExit(f"{name}.py was not imported by load_all_modules()")
            manager.registry.register(name, getattr(module, name.capitalize() + "Module"))
    out["load"] = now() - t
    out["registered"] = len(manager.list_modules())

    t = now()
    resolver = DependencyResolver()
    for name in manager.list_modules():
        resolver.add_module(manager.registry.get_info(name).metadata)
    order = resolver.resolve()
    out["resolve"] = now() - t
    out["resolved"] = len(order)

    t = now()
    for name in manager.list_modules():
        manager.registry.install(name)
    out["install"] = now() - t

    t = now()
    manager.start_all_modules()
    out["start"] = now() - t
    out["started"] = len(manager.registry.list_modules_by_state(ModuleState.STARTED))

    t = now()
    manager.stop_all_modules()
    out["stop"] = now() - t
    out["still_started"] = len(manager.registry.list_modules_by_state(ModuleState.STARTED))

    out["end_to_end"] = sum(out[p] for p in ("discover", "load", "resolve", "install", "start", "stop"))
    print("RESULT " + json.dumps(out), flush=True)
    if out["registered"] != dag["n"] or out["started"] != dag["n"] or out["still_started"]:
        print(f"incomplete run: {out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
