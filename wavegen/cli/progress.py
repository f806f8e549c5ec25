"""What the command line shows on stderr: progress, log lines and library warnings, through one handler.

Progress is a callback ``(stage, done, total)`` (what :meth:`wavegen.Bench.play` and friends call). On a
terminal each stage is a `tqdm <https://tqdm.github.io/>`_ bar; anywhere else (a log file, CI, a pipe)
``--progress`` gives one plain line per finished stage (and one every ``line_interval_s`` for a long one),
never carriage returns. Log records of the ``wavegen`` logger and every warning raised while a command
runs (``warnings.warn`` in wavegen, numpy's ``RuntimeWarning``, pyvisa's) go through the same
:class:`StderrHandler`: one line each, ``wavegen: LEVEL: message``, drawn above an open bar instead of
through it, and silenced by ``-q`` like every other handled event.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from typing import IO, Any

__all__ = ["ProgressBar", "StderrHandler", "setup_logging", "LogSetup", "log_level"]


class ProgressBar:
    """A progress callback ``(stage, done, total)`` for one command, drawing on ``stream`` (stderr).

    Parameters
    ----------
    stream
        Where to draw (default ``sys.stderr``).
    enabled
        ``None``: draw only when ``stream`` is a terminal; ``True`` forces it (plain lines when the
        stream is not a terminal); ``False`` never draws.
    min_interval_s
        The shortest time between two redraws of a terminal bar.
    line_interval_s
        Without a terminal: a stage still running after this long gets a line of its own (then again
        after as long), so a long upload shows it is alive without flooding a log.
    """

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None, min_interval_s: float = 0.1,
                 line_interval_s: float = 10.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        tty = _is_tty(self.stream)
        self.enabled = tty if enabled is None else bool(enabled)
        #: ``"bar"`` (tqdm on a terminal), ``"lines"`` (one plain line per stage) or ``"off"``
        self.mode = "off" if not self.enabled else ("bar" if tty else "lines")
        self.min_interval_s = min_interval_s
        self.line_interval_s = line_interval_s
        self._stage: str | None = None
        self._t_stage = 0.0
        self._t_line = 0.0
        self._done = 0
        self._total = 0
        self._bar: Any = None  # the open tqdm bar (terminal mode)

    # --- the callback -----------------------------------------------------------------------------

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.mode == "off":
            return
        now = time.monotonic()
        if stage != self._stage:
            self._finish_stage()  # stages run one after the other: a new one means the last one ended
            self._stage, self._t_stage, self._t_line = stage, now, now
        self._done, self._total = int(done), int(total)
        finished = total <= 0 or done >= total
        if self.mode == "bar":
            self._draw_bar(stage, finished)
        elif finished:
            self._line(stage, now)
            self._stage = None
        elif now - self._t_line >= self.line_interval_s:
            self._line(stage, now)
            self._t_line = now

    def _draw_bar(self, stage: str, finished: bool) -> None:
        from tqdm import tqdm

        total = max(self._total, 1)
        if self._bar is None:
            # the terminal's size, with a floor: a pseudo-terminal may report 0 x 0, where tqdm draws nothing
            size = shutil.get_terminal_size((100, 24))
            self._bar = tqdm(total=total, desc=stage, file=self.stream, leave=True, unit_scale=total >= 10_000,
                             bar_format=_BAR_FORMAT, ncols=min(max(size.columns, 60), 140),
                             nrows=max(size.lines, 5), mininterval=self.min_interval_s)
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(min(max(self._done, 0), total) - self._bar.n)
        if finished:
            self._bar.update(total - self._bar.n)
            self._bar.close()
            self._bar = None
            self._stage = None

    def _line(self, stage: str, now: float) -> None:
        total = max(self._total, 0)
        done = total if total <= 0 else min(max(self._done, 0), total)
        frac = 1.0 if total <= 0 else done / total
        elapsed = now - self._t_stage
        if frac >= 1.0:
            tail = f"done in {elapsed:.1f} s"
        else:
            tail = f"{elapsed:.0f} s so far"
            if frac > 0:
                tail += f", about {elapsed * (1 - frac) / frac:.0f} s to go"
        self.stream.write(f"wavegen: {stage}: {frac:.0%} ({_count(done)}/{_count(total)}), {tail}\n")
        self.stream.flush()

    def _finish_stage(self) -> None:
        if self._stage is None:
            return
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.close()
            self._bar = None
        elif self.mode == "lines":
            self._done = self._total
            self._line(self._stage, time.monotonic())
        self._stage = None

    # --- what the log handler and the command use -------------------------------------------------

    def write(self, line: str) -> None:
        """Write one line to the stream, above an open bar (which redraws below it)."""
        if self._bar is not None:
            from tqdm import tqdm

            tqdm.write(line, file=self.stream)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End an unfinished stage where it stands (after an error or an interrupted stage)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._stage = None


#: ``render      50%|#####     | 4.43k/8.86k [00:01<00:01]``: the stage, the fraction, the count, the time
_BAR_FORMAT = "{desc:<10} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"


def _is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _count(n: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return str(int(n))


class StderrHandler(logging.Handler):
    """Writes each record as one line to whatever ``sys.stderr`` is at the time (tests and notebooks swap
    it), above the progress bar when one is open."""

    bar: ProgressBar | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            if self.bar is not None and self.bar.stream is sys.stderr:
                self.bar.write(line)
            else:
                sys.stderr.write(line + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def log_level(verbose: int, quiet: bool) -> int:
    """``-q``: errors only; default: warnings (the handled events a user should know about); ``-v``: what
    the library does (INFO); ``-vv``: everything (DEBUG, with the logger's name)."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(int(verbose), logging.DEBUG)


#: where warnings raised while a command runs are logged (its records go through the same handler)
WARNINGS_LOGGER = "py.warnings"


class LogSetup:
    """What :func:`setup_logging` changed, so that :meth:`undo` puts it back (``main`` runs many times in
    one process in the tests and in notebooks)."""

    def __init__(self, handler: StderrHandler, loggers: list[tuple[logging.Logger, int]],
                 showwarning: Callable[..., Any], scope: warnings.catch_warnings | None = None) -> None:
        self.handler = handler
        self._loggers = loggers
        self._showwarning = showwarning
        self._scope = scope

    def undo(self) -> None:
        for lg, level in self._loggers:
            lg.removeHandler(self.handler)
            lg.setLevel(level)
        warnings.showwarning = self._showwarning
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
            self._scope = None


def _warning_to_log(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: IO[str] | None = None, line: str | None = None) -> None:
    """``warnings.showwarning`` while a command runs: the warning becomes one log record (its category and
    message; where it was raised only at ``-vv``)."""
    lg = logging.getLogger(WARNINGS_LOGGER)
    msg = str(message) if category is UserWarning else f"{category.__name__}: {message}"
    if lg.isEnabledFor(logging.DEBUG):
        msg += f" [{filename}:{lineno}]"
    lg.warning("%s", msg)


def setup_logging(verbose: int, quiet: bool) -> LogSetup:
    """Route the ``wavegen`` logger and every warning to one :class:`StderrHandler` for one command.

    ``warnings.warn`` (wavegen's :class:`~wavegen.pulseq.PulseqWarning`, numpy's ``RuntimeWarning``, pyvisa's)
    is shown through :func:`_warning_to_log`, not Python's two-line default, so ``-q`` silences it like any
    other handled event. Returns what to undo.
    """
    level = log_level(verbose, quiet)
    handler = StderrHandler(level)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s" if verbose and not quiet
                                           else "wavegen: %(levelname)s: %(message)s"))
    changed = []
    for name in ("wavegen", WARNINGS_LOGGER):
        lg = logging.getLogger(name)
        changed.append((lg, lg.level))
        lg.setLevel(level)
        lg.addHandler(handler)
    # a command is one run: its warnings are shown as in a fresh process (entering catch_warnings resets
    # the "shown once" registries), and the filters are restored when it ends
    scope = warnings.catch_warnings()
    scope.__enter__()
    old = warnings.showwarning
    warnings.showwarning = _warning_to_log
    return LogSetup(handler, changed, old, scope)
