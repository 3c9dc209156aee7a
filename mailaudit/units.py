"""Numbers as a technician reads them."""


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KB'. Binary multiples, as Windows Explorer and Finder's 'size' show them."""
    if count < 1024:
        return f"{count} B"
    size = float(count)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            break
    return f"{size:.1f} {unit}"
