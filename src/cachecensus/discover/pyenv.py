"""pyenv's versions: ``$PYENV_ROOT/versions/*`` (default ``~/.pyenv``)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, Provider, venvs_under
from cachecensus.models import EnvKind


class PyenvProvider(Provider):
    name = "pyenv"

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield (ctx.var_path("PYENV_ROOT") or ctx.home(".pyenv")) + "/versions"

    def find(self) -> Iterator[Candidate]:
        host = self.ctx.host
        for root in self.roots:
            for cand in venvs_under(host, root, EnvKind.PYENV, self.name):
                # pyenv-virtualenv's envs live here too and have a pyvenv.cfg: venvs
                prefix = posixpath.dirname(posixpath.dirname(cand.path))
                venv = host.is_file(prefix + "/pyvenv.cfg")
                yield cand._replace(kind=None) if venv else cand
