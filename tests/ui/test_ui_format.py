"""Text cut to a column: a title at a word's end, a path at its start."""

from __future__ import annotations

from rich.cells import cell_len

from tui_orchestrator.ui.format import cut_left, cut_words


def test_a_title_is_cut_at_a_words_end_with_an_ellipsis() -> None:
    title = "SQL injection in the user lookup query via the unsanitised id parameter"
    cut = cut_words(title, 30)
    assert cut == "SQL injection in the user…"
    assert cut_words("Hard-coded secret", 40) == "Hard-coded secret"
    # One word wider than the room is cut inside it; wide characters count two cells.
    assert cut_words("Supercalifragilistic", 8) == "Superca…"
    wide = cut_words("秘密の鍵がソースに書かれている", 9)
    assert wide.endswith("…") and cell_len(wide) <= 9
    assert cut_words("injection, in the query", 12) == "injection…"
    assert cut_words("problem in web/components/Search.tsx", 24) == "problem in web/…"


def test_a_path_keeps_its_file_name_and_line() -> None:
    assert cut_left("web/components/Search.tsx:3", 20) == "…onents/Search.tsx:3"
    assert cell_len(cut_left("ソース/コード/ファイル.py:12", 11)) <= 11
    assert cut_left("a.py:1", 20) == "a.py:1"
