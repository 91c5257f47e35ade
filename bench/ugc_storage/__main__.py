"""`python -m bench.ugc_storage`: the storage study (bench/ugc_storage/study.py)."""

from bench.ugc_storage.study import main

raise SystemExit(main())
