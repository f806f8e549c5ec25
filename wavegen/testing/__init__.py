"""wavegen.testing: what tests of wavegen (the project's own, and downstream users') need.

- :mod:`.imports`: the import graph (cycles, private names across modules, rooms).
"""

from __future__ import annotations

__all__: list[str] = []
