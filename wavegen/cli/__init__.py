"""wavegen.cli: the ``wavegen`` command (see :mod:`wavegen.cli.app` for commands and exit codes).

- :mod:`.app`: the parser, dispatch and exit codes; :mod:`.commands`: one function per command;
  :mod:`.options`: reading what the user typed; :mod:`.format`: tables; :mod:`.progress`: progress bars
  and log lines on stderr; :mod:`.demo`: the demo on the mock bench. The sequence recipes behind
  ``wavegen design`` are :mod:`wavegen.sequence.recipes`.
"""

from __future__ import annotations

from wavegen.cli.app import EXIT_INSTRUMENT, EXIT_INTERNAL, EXIT_OK, EXIT_UNSAFE, EXIT_USAGE, main, run_demo

__all__ = ["EXIT_INSTRUMENT", "EXIT_INTERNAL", "EXIT_OK", "EXIT_UNSAFE", "EXIT_USAGE", "main", "run_demo"]
