"""Upload a POP3 account's local mail into its IMAP account.

    store reader (stores/) -> folder map -> upload plan -> IMAP upload -> verify

A store reader knows nothing of IMAP; the uploader knows nothing of file formats. The ledger
(SQLite) is the only state that persists between runs.

    stores/         one reader per local mail format (the StoreReader interface in base.py)
    request.py      what the command line asked: the --to URL, the stores, the credentials
    folders.py      the folder map (namespace, delimiter, SPECIAL-USE, modified UTF-7)
    run.py          one migration: survey, decide, upload, verify
    imap_client.py  the asyncio IMAP client on the probe's wire; imap_syntax.py reads answers
    identity.py     what makes two copies the same message; ledger.py what was sent where
    outcome.py      the result per folder; progress.py the lines on stderr
"""
