"""Errors a user can cause. The ``slic`` command prints them as one sentence and exits non-zero."""


class SlicError(Exception):
    """A problem with the user's input or environment (bad file, no network, missing checkpoint).

    The message must be one clear sentence that says what is wrong and, where possible,
    what to do about it. The command line prints it without a traceback.
    """
