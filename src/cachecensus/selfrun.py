"""Starting cachecensus's own code in a new interpreter, never code from the working dir.

``python -m MOD`` and ``python -c CODE`` put the working directory first on ``sys.path``
(``-m``: its absolute path; ``-c``: ``''``), so a ``cachecensus/`` package or a module of the
same name in the directory root runs us from — a user's home, ``/tmp`` — would be imported
and run as root. ``-P`` (safe path) and ``PYTHONSAFEPATH`` exist only from Python 3.11, and
``-I`` would drop ``PYTHONPATH`` too; so every interpreter we start runs a ``-c`` whose
first statement removes the working-directory entry before anything is imported from
``sys.path`` (the interpreter's own start-up, ``site`` included, runs before that entry is
added). The completion scripts start their fallback the same way (:data:`PRELUDE`).
"""

from __future__ import annotations

import sys

#: The statement every ``-c`` we run starts with: ``''`` (the working directory) removed
#: from ``sys.path`` before any import that searches it.
PRELUDE = "import sys; sys.path[:] = [p for p in sys.path if p]"


def module_argv(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS`` without the working directory on ``sys.path``."""
    run = f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    code = f"{PRELUDE}; import runpy; {run}"
    return [sys.executable, "-c", code, *args]


def call_argv(module: str, function: str) -> list[str]:
    """``python -c 'from MODULE import FUNCTION; FUNCTION()'``, likewise."""
    return [sys.executable, "-c", f"{PRELUDE}; from {module} import {function}; {function}()"]
