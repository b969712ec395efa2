import contextlib
import os

import pytest

from slic_lib import progress
from slic_lib.errors import SlicError
from slic_lib.pipeline import absolute_paths, one_run_at_a_time
from slic_lib.profiles import get_profile

# nbval collects the source notebooks only, not executed copies an older `slic paper` kept here.
collect_ignore_glob = ["executed/*"]

# The kernels run in notebooks/: a relative SLIC_DATA, SLIC_FIGURES or SLIC_DATA_SOURCE means the
# user's folder, so it is made absolute here, in the process whose environment the kernels inherit.
absolute_paths(None)
os.environ.setdefault(progress.ENV, "text")  # text progress bars in the kernels, as under slic paper

_lock = contextlib.ExitStack()


def pytest_sessionstart(session):
    """The notebooks write the profile's dataset, models and summary as `slic paper` does: the same
    lock keeps the two from writing them at once (the kernels inherit $SLIC_PROFILE). Under
    pytest-xdist the controller holds it for its workers, which would otherwise find it taken."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        _lock.enter_context(one_run_at_a_time(get_profile().name))
    except SlicError as exc:
        pytest.exit(str(exc), returncode=3)


def pytest_sessionfinish(session):
    _lock.close()
