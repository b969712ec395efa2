"""The numbered notebooks' shape: a last section that asserts, and no computation written twice.

nbval re-executes the notebooks but cannot tell a notebook whose checks were lost: notebook
04 once had its Checks cell replaced by a second copy of its computation, which ran the
resolution test twice (37 s of `make paper`) and asserted nothing.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb"))


def _cells(path: Path) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


def test_the_numbered_notebooks_are_found():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_checks_that_assert(path):
    """The last section (``## Checks``, or 07's verdict) asserts in every code cell."""
    cells = _cells(path)
    heads = [i for i, (kind, src) in enumerate(cells) if kind == "markdown" and src.lstrip().startswith("## ")]
    assert heads, f"{path.name} has no sections"
    checks = [src for kind, src in cells[heads[-1] + 1 :] if kind == "code"]
    assert checks and all("assert" in src for src in checks), f"{path.name}: a code cell of its last section asserts nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_code_cell_twice(path):
    code = [src.strip() for kind, src in _cells(path) if kind == "code" and src.strip()]
    twice = {src.splitlines()[0] for src in code if code.count(src) > 1}
    assert not twice, f"{path.name} runs the same cell twice: {sorted(twice)}"
