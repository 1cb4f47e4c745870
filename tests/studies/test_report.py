"""report.md sections written by several commands survive each other."""

from bridge_jax.studies._report import _marked_sections, write_section


def test_sections_are_replaced_not_duplicated_and_kept(tmp_path):
    begin, end = "<!-- demo:begin -->", "<!-- demo:end -->"
    write_section(str(tmp_path), f"{begin}\nfirst\n{end}", begin, end)
    write_section(str(tmp_path), f"{begin}\nsecond\n{end}", begin, end)
    text = (tmp_path / "report.md").read_text()
    assert text.count(begin) == 1 and "second" in text and "first" not in text
    other = "<!-- eight-methods:begin -->\nB\n<!-- eight-methods:end -->"
    kept = _marked_sections(text + "\nnot kept\n" + other)
    assert len(kept) == 2 and "second" in kept[0] and "B" in kept[1]
    assert not any("not kept" in k for k in kept)
