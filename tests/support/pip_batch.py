"""Answer ``pip cache dir`` for many scenarios in one interpreter, through pip's own code.

Run by a venv's python: reads one JSON request a line on stdin, ``{"env": {...}, "cwd":
"..."}``, replaces ``os.environ`` with ``env``, changes to ``cwd``, runs pip's own
``main(["cache", "dir"])`` with stdout captured, and answers one JSON line ``{"rc": N,
"out": "...", "err": "..."}``. It is the real command minus the interpreter start-up (about
0.3 s a run). What pip computes once at import from the variables, the default cache dir
(``locations.USER_CACHE_DIR``, the ``--cache-dir`` option's default), is computed again for
every request by the same pip function, as a new process would. The matrix of
tests/test_resolve_differential.py runs every scenario of every pip version this way, and
checks a sample of them against the real command on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def _pip_main():  # type: ignore[no-untyped-def]
    try:
        from pip._internal.cli.main import main
    except ImportError:  # pip < 19.3 kept it in pip._internal.main / pip._internal
        try:
            from pip._internal.main import main
        except ImportError:
            from pip._internal import main
    return main


def _import_time_default() -> None:
    """What a new pip process computes at import: ``USER_CACHE_DIR``, the default of its
    ``--cache-dir`` option (``cli/cmdoptions.py``, from ``locations``)."""
    from pip._internal.cli import cmdoptions
    from pip._internal.utils import appdirs

    cmdoptions.cache_dir.keywords["default"] = appdirs.user_cache_dir("pip")


def serve() -> None:
    main = _pip_main()
    for line in sys.stdin:
        request = json.loads(line)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                _import_time_default()
                rc = main(["cache", "dir"])
            except SystemExit as exc:  # optparse's errors exit
                rc = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:  # reported; the real pip would crash too
                rc, err = 99, io.StringIO(f"{type(exc).__name__}: {exc}")
        answer = {"rc": rc, "out": out.getvalue(), "err": err.getvalue()}
        sys.__stdout__.write(json.dumps(answer) + "\n")
        sys.__stdout__.flush()


if __name__ == "__main__":
    serve()
