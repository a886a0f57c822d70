"""A terminal progress display for engine events (rich), usable as an ``on_event`` callback."""

from __future__ import annotations

import threading
from typing import Any, Optional

from .results import _op_name, clean_message, normalize_level

_SYMBOLS = {
    "create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red"), "replace": ("+-", "magenta"),
    "create-replacement": ("++", "magenta"), "delete-replaced": ("--", "magenta"), "read": (">", "cyan"),
    "refresh": ("r", "cyan"), "import": ("=", "cyan"),
}


def _short_urn(urn: str) -> str:
    # urn:pulumi:stack::project::type$type::name -> "type name"
    parts = urn.split("::")
    if len(parts) >= 4:
        return f"{parts[2].rsplit('$', 1)[-1]}  {parts[3]}"
    return urn


class RichProgress:
    """Prints each finished step, policy violations and errors; shows a live counter meanwhile.

    Call :meth:`close` when the operation ends (the library does) to stop the
    live status if the engine never sent a summary.
    """

    def __init__(self, console: Any = None, *, title: str = "") -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True, highlight=False)
        self.title = title
        self._lock = threading.Lock()
        self._status: Optional[Any] = None
        self._in_flight: set[str] = set()
        self._done = 0
        self._unchanged = 0

    def _status_text(self) -> str:
        return (f"{self.title + ': ' if self.title else ''}{self._done} done, {len(self._in_flight)} in progress, "
                f"{self._unchanged} unchanged")

    def _tick(self) -> None:
        if self._status is None and self.console.is_terminal:
            self._status = self.console.status(self._status_text())
            self._status.start()
        elif self._status is not None:
            self._status.update(self._status_text())

    def __call__(self, event: Any) -> None:
        with self._lock:
            self._handle(event)

    def _handle(self, event: Any) -> None:
        from rich.markup import escape as esc

        def pr(text: str, markup: bool) -> None:
            self.console.print(text, markup=markup, soft_wrap=True)  # long URNs stay on one line

        if getattr(event, "resource_pre_event", None) is not None:
            md = event.resource_pre_event.metadata
            if _op_name(md.op) != "same":
                self._in_flight.add(md.urn)
            self._tick()
        if getattr(event, "res_outputs_event", None) is not None:
            md = event.res_outputs_event.metadata
            op = _op_name(md.op)
            self._in_flight.discard(md.urn)
            if op == "same":
                self._unchanged += 1
            else:
                self._done += 1
                sym, colour = _SYMBOLS.get(op, ("*", "white"))
                pr(f"[{colour}]{sym:>2} {op:<8}[/] {esc(_short_urn(md.urn))}", markup=True)
            self._tick()
        if getattr(event, "res_op_failed_event", None) is not None:
            md = event.res_op_failed_event.metadata
            self._in_flight.discard(md.urn)
            pr(f"[red]failed  {esc(_short_urn(md.urn))}[/]", markup=True)
        if getattr(event, "policy_event", None) is not None:
            p = event.policy_event
            level = normalize_level(p.enforcement_level)
            colour = "red" if level == "mandatory" else "yellow"
            where = _short_urn(p.resource_urn) if p.resource_urn else "(stack)"
            pr(f"[{colour}]policy {level}[/] {esc(f'[{p.policy_name}] {where}')}", markup=True)
            for line in clean_message(p.message).splitlines():
                pr(f"    {line}", markup=False)
        if getattr(event, "diagnostic_event", None) is not None:
            d = event.diagnostic_event
            if d.severity == "error" and not d.ephemeral:
                pr(f"[red]error[/] {esc(clean_message(d.message))}", markup=True)
        if getattr(event, "summary_event", None) is not None:
            self._stop()
            from .results import ChangeSummary

            summary = ChangeSummary.from_op_map(event.summary_event.resource_changes)
            pr(f"[bold]{self.title + ': ' if self.title else ''}{summary.describe()}[/]", markup=True)
        if getattr(event, "cancel_event", None) is not None:
            self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        with self._lock:
            self._stop()
