"""One render hub per process: every image any UI shows comes from here.

It keeps one RenderService per checkpoint name (loaded on first use, at most `capacity` kept,
least recently used dropped) and renders on one thread, so a training process can use the
other core(s).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from gan_core.render import RenderService

from . import catalog


class RenderHub:
    def __init__(self, capacity: int = 4, threads: int = 1, device: str = "cpu"):
        self.capacity, self.threads, self.device = capacity, threads, device
        self._services: OrderedDict[str, tuple[str, RenderService]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> RenderService:
        """The service for a catalogue name (ValueError for unknown or invalid names)."""
        entry = catalog.resolve(name)
        key = str(entry.path)
        with self._lock:
            hit = self._services.get(name)
            if hit is not None and hit[0] == key:
                self._services.move_to_end(name)
                return hit[1]
        svc = RenderService(entry.path, device=self.device, threads=self.threads, name=name)
        with self._lock:
            self._services[name] = (key, svc)
            self._services.move_to_end(name)
            while len(self._services) > self.capacity:
                self._services.popitem(last=False)
        return svc

    def forget(self, name: str) -> None:
        with self._lock:
            self._services.pop(name, None)


_hub: RenderHub | None = None
_hub_lock = threading.Lock()


def hub() -> RenderHub:
    """The process's shared hub (created on first use, not at import)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = RenderHub()
        return _hub
