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


def test_one_trial_has_no_interval_and_no_z_score(tmp_path):
    """`reproduce --trials 1`: never 'z = inf' or a zero-width interval; the report says why."""
    import json
    import math

    from bridge_jax import store
    from bridge_jax.studies._common import metric
    from bridge_jax.studies._report import ci_text, verdict
    from bridge_jax.studies.imaging.plot import _cell

    m = metric([0.7], paper=0.9, definition="d", null=[0.1])
    assert math.isnan(m["ci95"][0]) and math.isnan(m["ci95"][1]) and m["null_std"] is None
    assert ci_text(m) == "0.7 (no interval: 1 trial)"
    assert verdict(m) == (
        "differs from the paper; null spread unknown (fewer than 2 trials): no z-score"
    )
    # As saved and resumed: NaN is written as JSON null, and read back the same way.
    store.write_json(tmp_path / "m.json", m)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["ci95"] == [None, None] and saved["std"] is None
    assert ci_text(saved) == ci_text(m) and verdict(saved) == verdict(m)
    # A null that does not vary: no z-score either.
    assert "inf" not in verdict(
        {**metric([0.7, 0.8], paper=None, definition="d"), "null": 0.1, "null_std": 0.0}
    )
    assert _cell({"mean": 20.0, "ci95": [float("nan")] * 2, "n_seeds": 1}, 2) == (
        "20.00 (no interval: 1 seed)"
    )
