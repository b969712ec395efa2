"""Progress bars in executed notebooks are text: a saved widget shows only its first state ("0%")."""

import io

from tqdm.std import tqdm as text_tqdm

from slic_lib import progress


def test_text_bars_where_notebooks_are_executed_to_be_read(monkeypatch):
    monkeypatch.setenv(progress.ENV, "text")
    out = io.StringIO()
    bar = progress.tqdm(range(3), file=out, desc="slic synth")
    assert type(bar) is text_tqdm and bar.mininterval == progress.TEXT_INTERVAL
    list(bar)
    assert "slic synth: 100%" in out.getvalue()  # the saved output ends as the loop ended
    monkeypatch.delenv(progress.ENV)
    bar = progress.tqdm(range(3), file=io.StringIO())
    assert bar.mininterval == 0.1  # tqdm.auto's own choice (a widget in a notebook, text in a terminal)
    bar.close()


def test_slic_paper_asks_its_kernels_for_text_bars(tmp_path, monkeypatch):
    import papermill

    from slic_lib import pipeline

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv(progress.ENV, raising=False)
    seen = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda nb, out, **kw: seen.append(pipeline.os.environ.get(progress.ENV)))
    pipeline.run_notebooks("smoke", notebooks=("01_data_curation.ipynb",), progress=False)
    assert seen == ["text"] and progress.ENV not in pipeline.os.environ  # the caller's environment as it was
    monkeypatch.setenv(progress.ENV, "")
    with pipeline._text_progress():
        assert pipeline.os.environ[progress.ENV] == "text"
    assert pipeline.os.environ[progress.ENV] == ""
