"""The only code that opens sockets or resolves names: probes of IMAP and POP3 servers.

    runner.py         many probes at once, bounded: run_probes, probe_all
    imap.py, pop3.py  the dialogues
    wire.py           the bounded connection; tls.py its contexts, and certificates read
    targets.py        HOST[:PORT] to what to probe; resolve.py names to addresses

Modules are imported by name (`mailaudit.probe.runner`): the package imports nothing itself,
so that `migrate`, which needs only the wire, starts without what only the probes need.
"""
