#!/usr/bin/env python3
"""The Python original's side of the event workloads, in this process.

    python py_events.py [--quick]

Prints one line `RESULT {json}`: publishes per second (median of the repetitions) of
symphra-event 0.2.0 to
- exact_one: one sync subscriber of an emitter the publisher holds (its fastest path);
- exact_one_lookup: the same, looking the emitter up on the global EventBus per publish;
- fan_out_1000: 1,000 sync subscribers of one emitter;
- patterns_1000: 1,000 pattern subscriptions. symphra-event has no wildcard subscription, so
  they are emulated with the wildcard matching it does have: per publish, every pattern is
  tested with `Namespace(topic).matches(pattern)` and the handler called on a match. Two
  patterns match the topic (`user.*` and `**`), as on Symphra's side;
and of the event bus inside symphra-modules 0.1.0 (`modules_bus_exact_one`).
"""
import json
import logging
import statistics
import sys
import time

from symphra_event import EventBus, EventEmitter, Namespace

now = time.perf_counter
calls = [0]


def handler(**_payload):
    calls[0] += 1


def rate(publish, count: int, reps: int) -> float:
    """Median publishes per second of `publish(count)` over `reps` repetitions."""
    rates = []
    for _ in range(reps):
        t = now()
        publish(count)
        rates.append(count / (now() - t))
    return statistics.median(rates)


def main() -> int:
    quick = "--quick" in sys.argv
    scale, reps = (20, 1) if quick else (1, 5)
    out = {"side": "python", "reps": reps}

    EventBus.clear()
    emitter = EventBus.create("user.created")
    emitter.on(handler)

    def exact(n):
        for _ in range(n):
            emitter.emit(uid=1)
    out["exact_one"] = rate(exact, 200_000 // scale, reps)

    def exact_lookup(n):
        for _ in range(n):
            EventBus.get("user.created").emit(uid=1)
    out["exact_one_lookup"] = rate(exact_lookup, 200_000 // scale, reps)

    fan = EventEmitter(name="fan")
    for _ in range(1_000):
        fan.on(lambda **_payload: handler())

    def fan_out(n):
        for _ in range(n):
            fan.emit(uid=1)
    out["fan_out_1000"] = rate(fan_out, 500 // scale, reps)
    out["fan_out_1000_handler_calls"] = out["fan_out_1000"] * 1_000

    forms = ["svc{}.*", "svc{}.**", "*.evt{}", "**.evt{}"]
    patterns = [forms[i % 4].format(i) for i in range(1_000)]
    patterns[0], patterns[1] = "user.*", "**"

    def wildcard(n):
        for _ in range(n):
            topic = Namespace("user.created")
            for pattern in patterns:
                if topic.matches(pattern):
                    handler(uid=1)
    before, count = calls[0], 200 // scale
    out["patterns_1000"] = rate(wildcard, count, reps)
    out["patterns_1000_matched_per_publish"] = (calls[0] - before) / (reps * count)

    from datetime import datetime

    from symphra_modules.events import Event, EventBus as ModulesBus
    logging.getLogger("symphra_modules").setLevel(logging.CRITICAL)
    bus = ModulesBus()
    bus.subscribe("module.started", lambda _event: handler())
    event = Event(event_type="module.started", module_name="x", timestamp=datetime.now())

    def modules_exact(n):
        for _ in range(n):
            bus.publish(event)
    out["modules_bus_exact_one"] = rate(modules_exact, 200_000 // scale, reps)

    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
