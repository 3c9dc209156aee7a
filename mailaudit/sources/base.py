"""What every source is: a function from one user of a machine to Account, LocalMailbox and
Skipped records.

A source reads files (or the registry) through `MachineFiles`, never the network, never writes,
and never raises for bad input: a file it cannot use becomes a `Skipped` record with the path
and a one-line reason, and the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile, UsageError
from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Account, LocalMailbox, Skipped

Found = Account | LocalMailbox | Skipped
Source = Callable[[MachineFiles, UserHome], Iterable[Found]]


def guarded(source_id: str, source: Source) -> Source:
    """The one boundary per source: whatever a hostile file makes the reader raise (a value of
    an unexpected type, a recursion too deep, memory) ends this source for this user as a
    Skipped entry, and the other sources and users are still read. What was found before the
    failure is kept."""

    def run(files: MachineFiles, user: UserHome) -> Iterator[Found]:
        return bounded(source_id, files, files.display(user.home), source(files, user))

    return run


def bounded(
    source_id: str, files: MachineFiles, where: str, found: Iterable[Found]
) -> Iterator[Found]:
    """`found`, ended by a Skipped entry instead of an exception. UsageError (bad input named
    on the command line) still propagates. The message names the exception's type only: its
    text may quote the file."""
    try:
        yield from found
    except UsageError:
        raise
    except UnreadableFile as exc:
        yield Skipped(source_id, files.display(Path(exc.path)), exc.reason)
    except Exception as exc:  # the one boundary of this source (see above)
        yield Skipped(
            source_id,
            where,
            f"reading stopped at a value mailaudit cannot handle ({type(exc).__name__}); "
            "the accounts listed before it were kept",
        )
