"""pyenv's versions: ``$PYENV_ROOT/versions/*`` (default ``~/.pyenv``)."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, venvs_under
from cachecensus.models import EnvKind


def find(ctx: Context) -> Iterator[Candidate]:
    root = ctx.var_path("PYENV_ROOT") or ctx.home(".pyenv")
    for cand in venvs_under(ctx, root + "/versions", EnvKind.PYENV, "pyenv"):
        # pyenv-virtualenv's envs live here too, and have a pyvenv.cfg: a venv, not a build
        venv = ctx.host.is_file(cand.path.rsplit("/bin/", 1)[0] + "/pyvenv.cfg")
        yield Candidate(cand.path, cand.found_by, None if venv else EnvKind.PYENV)
