"""What every source is: a function from one user of a machine to Account, LocalMailbox and
Skipped records.

A source reads files (or the registry) through `MachineFiles`, never the network, never writes,
and never raises for bad input: a file it cannot use becomes a `Skipped` record with the path
and a one-line reason, and the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Account, LocalMailbox, Skipped

Found = Account | LocalMailbox | Skipped
Source = Callable[[MachineFiles, UserHome], Iterable[Found]]
