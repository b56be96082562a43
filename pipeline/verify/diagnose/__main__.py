"""``python -m pipeline.verify.diagnose``: the child process that examines one uploaded PDF."""

from __future__ import annotations

import sys

from pipeline.verify.diagnose import main

sys.exit(main())
