"""The five H-alpha feature classes of Armstrong & Fletcher (2019), in the published order."""

CLASSES: tuple[str, ...] = ("filaments", "flares", "prominences", "quiet", "sunspots")
"""Class names; index ``i`` is the network's output ``i`` (as in the released Slic checkpoint)."""

N_CLASSES = len(CLASSES)


def class_index(name: str) -> int:
    """Return the output index of a class name, with a clear error for an unknown one."""
    try:
        return CLASSES.index(name)
    except ValueError:
        raise ValueError(f"unknown class {name!r}; expected one of {', '.join(CLASSES)}") from None
