"""Progress bars: tqdm's widget in a notebook that a person runs, text where notebooks are executed
to be read later.

``slic paper`` and nbval set ``SLIC_PROGRESS=text`` for their kernels: a saved notebook keeps a
widget bar only as its first state, so every finished loop of an executed notebook read
"0%| 0/3000" in a static renderer. Text bars are stored as they ended, refreshed at most every
``TEXT_INTERVAL`` seconds so that a long training does not fill the notebook with updates.
"""

from __future__ import annotations

import os

from tqdm.auto import tqdm as _auto
from tqdm.std import tqdm as _text

ENV = "SLIC_PROGRESS"
TEXT_INTERVAL = 10.0


def tqdm(*args, **kwargs):
    """:class:`tqdm.auto.tqdm`, or a text bar when ``$SLIC_PROGRESS`` is ``text``."""
    if os.environ.get(ENV) == "text":
        kwargs.setdefault("mininterval", TEXT_INTERVAL)
        return _text(*args, **kwargs)
    return _auto(*args, **kwargs)
