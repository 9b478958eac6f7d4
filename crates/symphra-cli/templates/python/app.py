"""The Symphra module `{{name}}`, in Python: answers `{{name}}.request` on `{{name}}.reply`.

Build: ./build.sh (componentize-py, which generates `wit_world` from wit/module.wit).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host

# Keep state at module level: the instance of Guest is not kept between exports.
PREFIX = "{{name}}"


class Guest(exports.Guest):
    def bootstrap(self) -> None:
        host.log(host.Level.INFO, "{{name}}: bootstrap")

    def install(self, config: str) -> None:
        global PREFIX
        PREFIX = json.loads(config).get("prefix", PREFIX)

    def start(self) -> None:
        host.subscribe("{{name}}.request")
        host.log(host.Level.INFO, "{{name}}: started")

    def stop(self) -> None:
        host.log(host.Level.INFO, "{{name}}: stopped")

    def uninstall(self) -> None:
        pass

    def reload(self) -> None:
        pass

    def on_event(self, topic: str, payload: str) -> None:
        try:
            request = json.loads(payload)
        except ValueError as error:
            raise Err(f"not JSON: {error}")
        host.publish("{{name}}.reply", json.dumps({"prefix": PREFIX, "request": request}))
