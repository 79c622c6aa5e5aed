"""conda/mamba: ``~/.conda/environments.txt``, the usual base prefixes and their envs."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, env_interpreter, subdirs
from cachecensus.models import EnvKind

BASES = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".conda")


def prefixes(ctx: Context) -> Iterator[tuple[str, str]]:
    try:
        text = ctx.host.read_text(ctx.home(".conda", "environments.txt"))
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.strip().startswith("/"):
            yield line.strip(), "conda environments.txt"
    bases = [ctx.home(b) for b in BASES] + ["/opt/conda", "/opt/miniconda3", "/opt/anaconda3"]
    for base in bases:
        yield base, "conda base"
        for env in subdirs(ctx.host, base + "/envs"):
            yield env, "conda envs dir"


def find(ctx: Context) -> Iterator[Candidate]:
    for prefix, how in prefixes(ctx):
        if ctx.host.is_dir(prefix + "/conda-meta"):
            exe = env_interpreter(ctx.host, prefix)
            if exe is not None:
                yield Candidate(exe, how, EnvKind.CONDA)
