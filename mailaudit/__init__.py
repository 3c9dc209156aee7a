"""mailaudit: find the mail accounts on a PC, tell POP from IMAP, and say what to change."""

__version__ = "0.1.0"
