"""uv: managed Pythons (``uv python install``) and tool environments (``uv tool install``)."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Context, VenvDirProvider
from cachecensus.models import EnvKind


class UvPythonProvider(VenvDirProvider):
    name = "uv python dir"
    kind = EnvKind.UV_MANAGED

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        explicit = ctx.var_path("UV_PYTHON_INSTALL_DIR")
        if explicit:
            yield explicit
        yield ctx.xdg("XDG_DATA_HOME", ".local/share") + "/uv/python"
        yield ctx.home(".local/share/uv/python")


class UvToolProvider(VenvDirProvider):
    name = "uv tool dir"
    kind = EnvKind.UV_TOOL

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        explicit = ctx.var_path("UV_TOOL_DIR")
        if explicit:
            yield explicit
        yield ctx.xdg("XDG_DATA_HOME", ".local/share") + "/uv/tools"
        yield ctx.home(".local/share/uv/tools")
