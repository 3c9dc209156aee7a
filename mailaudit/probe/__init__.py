"""The only code that opens sockets or resolves names: probes of IMAP and POP3 servers."""

from mailaudit.probe.runner import ProbeOptions, probe_all, run_probes, skipped

__all__ = ["ProbeOptions", "probe_all", "run_probes", "skipped"]
