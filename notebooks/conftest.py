# nbval collects the source notebooks only, not the copies `slic paper` executed and kept.
collect_ignore_glob = ["executed/*"]
