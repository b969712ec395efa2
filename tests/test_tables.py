"""Tables: CSV for programs, Markdown with a caption for readers, written once by slic_lib.tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slic_lib import paper, tables
from slic_lib.classes import CLASSES


def rows(md: str) -> list[list[str]]:
    """The cells of a Markdown pipe table's lines, stripped (separator line included)."""
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in md.splitlines()]


def test_confusion_markdown_has_true_rows_and_predicted_columns():
    md = rows(tables.confusion_markdown(paper.TABLE_1, CLASSES))
    assert len(md) == 2 + 5
    assert md[0] == ["true \\ predicted", *CLASSES]
    assert md[1][0].startswith(":") and md[1][1].endswith(":")  # names left, counts right
    assert md[2] == ["filaments", "175", "1", "0", "0", "0"]
    with pytest.raises(ValueError):
        tables.confusion_markdown(paper.TABLE_1, CLASSES[:4])


def test_metrics_frame_and_its_markdown_with_an_undefined_precision():
    df = tables.metrics_frame([1, 0.99633, 1, 1, 1], [0.99432, 1, 1, 1, 1], CLASSES)
    assert list(df.index) == list(CLASSES) and df.index.name == "class"
    assert df.loc["flares", "precision"] == pytest.approx(0.99633)
    md = rows(tables.markdown(tables.metrics_frame([1, 0.5, np.nan, 1, 1], [1, 1, 0.123456, 1, 1], CLASSES)))
    assert md[0] == ["class", "precision", "recall"]
    assert md[3] == ["flares", "0.5", "1"]
    assert md[4] == ["prominences", "n/a", "0.1235"]
    with pytest.raises(ValueError):
        tables.metrics_frame([1], [1, 1], CLASSES)


def test_markdown_numbers_four_significant_digits_integers_in_full():
    frame = pd.DataFrame({"lr": [1e-2, 5e-4], "epoch": [9, 12], "seconds": [895.0, 13175.4], "device": ["cpu", "cuda"]})
    md = rows(tables.markdown(frame))
    assert md[0] == ["lr", "epoch", "seconds", "device"]  # a default index is not written
    assert md[2] == ["0.01", "9", "895", "cpu"]
    assert md[3] == ["0.0005", "12", "13175", "cuda"]


def test_write_gives_csv_and_markdown_starting_with_the_caption(tmp_path):
    frame = tables.metrics_frame([1, 0.9963, 1, 1, 1], [0.9943, 1, 1, 1, 1], CLASSES)
    csv, md = tables.write(frame, tmp_path / "out" / "precision_recall.v1", "Precision and recall (simulated data, profile cpu)")
    assert (csv.name, md.name) == ("precision_recall.v1.csv", "precision_recall.v1.md")
    text = md.read_text()
    assert text.startswith("Precision and recall (simulated data, profile cpu)\n\n| class")
    assert text.endswith("\n") and "| flares" in text
    back = pd.read_csv(csv, index_col="class")
    pd.testing.assert_frame_equal(back, frame)
    assert not list(tmp_path.glob("out/.*"))  # no temporary files left behind


def test_write_without_caption_or_named_index(tmp_path):
    frame = pd.DataFrame({"factor": [1, 2], "accuracy": [1.0, 0.9]})
    csv, md = tables.write(frame, tmp_path / "curve")
    assert rows(md.read_text())[0] == ["factor", "accuracy"]  # the table comes first
    assert csv.read_text().splitlines()[0] == "factor,accuracy"
