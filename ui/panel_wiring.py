"""Gradio events wired by component name: handlers read and write dicts keyed by names, never positions."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import gradio as gr

Names = Iterable[str]


class Wiring:
    """The panel's components by name, and events wired by name.

    `on(trigger, fn, reads, writes)` calls `fn(values)` with the values of the components named
    in `reads` as one dict keyed by name (Gradio's `inputs_kwargs`), and turns the dict it
    returns, keyed by the names in `writes`, into Gradio's {component: update} form; components
    it leaves out keep their values.
    """

    def __init__(self) -> None:
        self.c: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        return self.c[name]

    def __setitem__(self, name: str, component: Any) -> None:
        if name in self.c:
            raise ValueError(f"two components are named {name!r}")
        self.c[name] = component

    def _outputs(self, result: dict[str, Any], writes: tuple[str, ...]) -> dict[Any, Any]:
        stray = set(result) - set(writes)
        if stray:  # a handler wrote what its event does not list: a wiring bug, not a user error
            raise RuntimeError(f"handler wrote {sorted(stray)}, not among its outputs {list(writes)}")
        return {self.c[name]: value for name, value in result.items()}

    def on(self, trigger: Callable[..., Any], fn: Callable[[dict[str, Any]], dict[str, Any]], reads: Names,
           writes: Names, **options: Any) -> Any:
        writes = tuple(writes)

        def handler(**values: Any) -> dict[Any, Any]:
            return self._outputs(fn(values), writes)

        handler.__name__ = getattr(fn, "__name__", "handler")
        return trigger(handler, inputs_kwargs={n: self.c[n] for n in reads},
                       outputs=[self.c[n] for n in writes], **options)

    def on_request(self, trigger: Callable[..., Any], fn: Callable[[gr.Request], dict[str, Any]],
                   writes: Names, **options: Any) -> Any:
        """Like `on` for a handler that reads the page's request (its URL) instead of components."""
        writes = tuple(writes)

        def handler(request: gr.Request) -> dict[Any, Any]:
            return self._outputs(fn(request), writes)

        handler.__name__ = getattr(fn, "__name__", "handler")
        return trigger(handler, None, [self.c[n] for n in writes], **options)

    def on_select(self, trigger: Callable[..., Any], fn: Callable[[dict[str, Any], gr.SelectData], dict[str, Any]],
                  reads: Names, writes: Names, **options: Any) -> Any:
        """Like `on` for a handler that also reads what was selected (e.g. a gallery's item)."""
        writes = tuple(writes)

        def handler(evt: gr.SelectData, **values: Any) -> dict[Any, Any]:
            return self._outputs(fn(values, evt), writes)

        return trigger(handler, inputs_kwargs={n: self.c[n] for n in reads},
                       outputs=[self.c[n] for n in writes], **options)
