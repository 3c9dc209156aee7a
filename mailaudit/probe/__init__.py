"""The only code that opens sockets or resolves names: probes of IMAP and POP3 servers."""

from mailaudit.probe.runner import ProbeOptions, run_probes, skipped

__all__ = ["ProbeOptions", "run_probes", "skipped"]
