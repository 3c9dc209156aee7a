"""Upload a POP3 account's local mail into its IMAP account.

    store reader (stores/) -> folder map -> upload plan -> IMAP upload -> verify

A store reader knows nothing of IMAP; the uploader knows nothing of file formats. The ledger
(SQLite) is the only state that persists between runs.
"""
