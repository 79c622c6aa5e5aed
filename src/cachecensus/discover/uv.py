"""uv: managed Pythons (``uv python install``) and tool environments (``uv tool install``)."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, venvs_under
from cachecensus.models import EnvKind


def find(ctx: Context) -> Iterator[Candidate]:
    data = ctx.xdg("XDG_DATA_HOME", ".local/share")
    pythons = ctx.var_path("UV_PYTHON_INSTALL_DIR") or data + "/uv/python"
    yield from venvs_under(ctx, pythons, EnvKind.UV_MANAGED, "uv python dir")
    tools = ctx.var_path("UV_TOOL_DIR") or data + "/uv/tools"
    yield from venvs_under(ctx, tools, EnvKind.UV_TOOL, "uv tool dir")
