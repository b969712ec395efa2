from slic_lib.pipeline import absolute_paths

# nbval collects the source notebooks only, not the copies `slic paper` executed and kept.
collect_ignore_glob = ["executed/*"]

# The kernels run in notebooks/: a relative SLIC_DATA, SLIC_FIGURES or SLIC_DATA_SOURCE means the
# user's folder, so it is made absolute here, in the process whose environment the kernels inherit.
absolute_paths(None)
