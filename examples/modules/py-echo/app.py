"""A Symphra module in Python (componentize-py): answers `echo.request` on `echo.reply`.

Build: ./build.sh (componentize-py 0.25.1 from PyPI).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host

# State set on `self` in one export was gone in the next: keep it at module level.
PREFIX = "echo"


class Guest(exports.Guest):
    def bootstrap(self) -> None:
        host.log(host.Level.INFO, "py-echo: bootstrap")

    def install(self, config: str) -> None:
        global PREFIX
        PREFIX = json.loads(config).get("prefix", PREFIX)

    def start(self) -> None:
        host.subscribe("echo.request")
        host.log(host.Level.INFO, "py-echo: started")

    def stop(self) -> None:
        host.log(host.Level.INFO, "py-echo: stopped")

    def uninstall(self) -> None:
        pass

    def reload(self) -> None:
        pass

    def on_event(self, topic: str, payload: str) -> None:
        try:
            request = json.loads(payload)
        except ValueError as error:
            raise Err(f"not JSON: {error}")
        host.publish("echo.reply", json.dumps({"prefix": PREFIX, "request": request}))
