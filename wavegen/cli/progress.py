"""What the command line draws on stderr: progress bars and log lines that do not tear them."""

from __future__ import annotations

import logging
import sys
import time
from typing import IO

__all__ = ["ProgressBar", "StderrHandler", "setup_logging"]


class ProgressBar:
    """A progress callback ``(stage, done, total)`` drawing one bar line on a stream (stderr).

    Drawn by hand (no dependency): ``render      [##########----------]  50.0%  1.0M/2.0M  ETA 1s``.
    Redraws at most every ``min_interval_s`` within a stage; a finished stage ends its line.

    Parameters
    ----------
    stream
        Where to draw (default ``sys.stderr``).
    enabled
        ``None``: draw only when ``stream`` is a terminal; ``True``/``False`` force it.
    width
        Bar width in characters.
    """

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None, width: int = 28,
                 min_interval_s: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.width = width
        self.min_interval_s = min_interval_s
        self._stage: str | None = None
        self._t_stage = 0.0
        self._t_last = 0.0
        self._open = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._t_stage = now
            self._t_last = 0.0
        finished = total <= 0 or done >= total
        if not finished and now - self._t_last < self.min_interval_s:
            return
        self._t_last = now
        frac = 1.0 if total <= 0 else min(1.0, max(0.0, done / total))
        fill = int(round(self.width * frac))
        elapsed = now - self._t_stage
        if finished:
            tail = f"  {elapsed:.1f} s"
        elif frac > 0 and elapsed > 0.5:
            tail = f"  ETA {elapsed * (1 - frac) / frac:.0f} s"
        else:
            tail = ""
        line = (f"\r{stage[:14]:<14} [{'#' * fill}{'-' * (self.width - fill)}] {frac * 100:5.1f}%  "
                f"{_count(done)}/{_count(total)}{tail}")
        self.stream.write(line + "\x1b[K" if _is_tty(self.stream) else line)
        self._open = True
        if finished:
            self.stream.write("\n")
            self._open = False
            self._stage = None
        self.stream.flush()

    def break_line(self) -> None:
        """End the bar's line so that another message starts on its own; the stage redraws below it."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
            self._t_last = 0.0

    def close(self) -> None:
        """End an unfinished bar line (after an error or an interrupted stage)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
        self._stage = None


def _is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _count(n: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.1f}{suffix}"
    return str(int(n))


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time of the message (tests and notebooks swap it), on a
    line of its own when a progress bar is being drawn."""

    bar: ProgressBar | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.bar is not None:
                self.bar.break_line()
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def setup_logging(verbose: bool, quiet: bool) -> tuple[logging.Logger, logging.Handler, int]:
    """Route wavegen's log records to stderr for one command; returns what :func:`main` undoes."""
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    logger = logging.getLogger("wavegen")
    handler = StderrHandler(level)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s" if verbose
                                           else "wavegen: %(levelname)s: %(message)s"))
    old_level = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    return logger, handler, old_level
