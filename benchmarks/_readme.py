"""Write a benchmark's figures into README.md between its markers."""

from __future__ import annotations

from pathlib import Path


def write_block(readme: Path, name: str, text: str) -> bool:
    """Replace the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.

    Adds the block at the end of the file when the markers are missing. Returns True.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    content = readme.read_text(encoding="utf-8")
    block = f"{start}\n{text.strip()}\n{end}"
    if start in content and end in content:
        head, _, rest = content.partition(start)
        _, _, tail = rest.partition(end)
        content = head + block + tail
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(content, encoding="utf-8")
    return True
