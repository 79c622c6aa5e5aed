"""conda/mamba: ``~/.conda/environments.txt``, the usual base prefixes and their ``envs/``."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from cachecensus.discover.base import (
    Candidate,
    Context,
    Provider,
    env_interpreter,
    subdirs,
)
from cachecensus.models import EnvKind

BASES = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".conda")
SYSTEM_BASES = ("/opt/conda", "/opt/miniconda3", "/opt/anaconda3", "/opt/miniforge3")


class CondaProvider(Provider):
    name = "conda"

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield ctx.home(".conda")
        for base in BASES:
            yield ctx.home(base)
        yield from SYSTEM_BASES

    def prefixes(self) -> Iterator[tuple[str, str]]:
        host = self.ctx.host
        try:
            text = host.read_text(  # a list of paths: bytes, not necessarily UTF-8
                self.ctx.home(".conda", "environments.txt"), errors="surrogateescape"
            )
        except (OSError, ValueError):
            text = ""
        for line in text.splitlines():
            line = line.strip()
            if posixpath.isabs(line):
                yield posixpath.normpath(line), "conda environments.txt"
        for base in self.roots:
            yield base, "conda base"
            for env in subdirs(host, base + "/envs"):
                yield env, "conda envs dir"

    def find(self) -> Iterator[Candidate]:
        host = self.ctx.host
        for prefix, how in self.prefixes():
            if host.is_dir(prefix + "/conda-meta"):
                exe = env_interpreter(host, prefix)
                if exe is not None:
                    yield Candidate(exe, EnvKind.CONDA, how)
