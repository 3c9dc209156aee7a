"""One reader per local mail format: mbox, maildir, mh, emlx, pst, eml."""
