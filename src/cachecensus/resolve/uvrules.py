"""How each uv version decides where its cache is: every rule that changed between uv 0.4
and the newest uv cachecensus knows, stated once, with the version it starts at and where
that comes from.

Sources: uv's repository at each release tag (``git show 0.9.1:crates/uv/src/lib.rs``; the
snapshot read reaches 0.12.5), the ``uv.schema.json`` of each tag (the keys ``uv.toml``
accepts: uv generates it from the same ``Options`` struct serde reads), uv's changelogs,
and, past 0.12.5 and where a behaviour came from a toolchain rather than uv's code, the
released binaries themselves (``pip install uv==X``; ``uv cache dir`` run in a prepared
directory; the keys a version accepts are the ones its own "unknown field" error lists).
``tests/test_uv_versions.py`` checks every row against real uvs of the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from packaging.version import InvalidVersion, Version

#: The oldest uv whose rules are tabled here; an older one is resolved with its rules.
OLDEST = "0.4.0"
#: The newest uv these rules were checked against (the default when no version is known).
NEWEST = "0.13.9"


@dataclass(frozen=True)
class Rule:
    """A behaviour uv has from ``since`` on (and not before)."""

    name: str
    since: str
    source: str


RULES: tuple[Rule, ...] = (
    Rule(
        "uv.toml refuses pyproject-only keys",
        "0.5.0",
        "crates/uv-settings/src/lib.rs validate_uv_toml (#8550, first tagged 0.5.0); "
        "0.4.30 reads a uv.toml with [workspace] without complaint",
    ),
    Rule(
        "required-version is enforced",
        "0.5.14",
        "crates/uv/src/lib.rs run(): 'Required version ... does not match the running "
        "version' (0.5.14, the tag that adds the key); a bare version means ==",
    ),
    Rule(
        "the user config dir comes from etcetera",
        "0.5.0",
        "crates/uv-settings/src/lib.rs user_config_dir: dirs_sys::home_dir up to 0.4.30 (an "
        "empty HOME means the passwd home there), etcetera's config_dir from 0.5.0 (the "
        "same home as the cache dir's)",
    ),
    Rule(
        "an empty HOME means the passwd home",
        "0.8.19",
        "observed: uv 0.8.18 prints '.cache/uv' for HOME='' (the empty home taken as is, so "
        "relative to the working dir, the user config too), 0.8.19 the passwd home; the "
        "change is the toolchain (rust-toolchain.toml 1.88 -> 1.90 at 0.8.19), not uv's code",
    ),
    Rule(
        "UV_WORKING_DIRECTORY sets --directory",
        "0.9.1",
        "crates/uv-cli/src/lib.rs --directory env = UV_WORKING_DIRECTORY (changelog 0.9.1)",
    ),
    Rule(
        "UV_WORKING_DIR sets --directory, UV_WORKING_DIRECTORY only when it is unset",
        "0.9.14",
        "crates/uv-cli/src/lib.rs env = UV_WORKING_DIR; crates/uv/src/lib.rs falls back to "
        "UV_WORKING_DIRECTORY (#16884, changelog 0.9.14)",
    ),
    Rule(
        "UV_NO_SYSTEM_CONFIG skips the system config",
        "0.11.16",
        "crates/uv-settings/src/lib.rs FilesystemOptions::system (changelog 0.11.16); "
        "before, the variable is not read at all",
    ),
    Rule(
        "an empty XDG_CONFIG_DIRS item is skipped",
        "0.12.20",
        "crates/uv-dirs/src/lib.rs locate_system_config_xdg: split(':').take_while(non-empty) "
        "up to 0.12.5 (an empty item ends the search); observed: 0.12.19 stops there, 0.12.20 "
        "goes on to the next item",
    ),
)

#: Keys a ``uv.toml`` may hold (and ``[tool.uv]`` understands), with the first uv that
#: accepts each: from the ``properties`` of ``uv.schema.json`` at every tag from 0.4.0 to
#: 0.12.5 (no key was ever dropped), except ``build-backend``, a hidden field the schema
#: lists only from 0.6.15 (0.5.6 by crates/uv-settings/src/settings.rs and 0.5.31's own
#: error message); the last four from the released binaries' error messages (0.12.16 lacks
#: minimum-libc-version, 0.12.17 has it; 0.12.23 / 0.12.24 for the mirrors; 0.12.24 / 0.13.0
#: for require-build-hashes).
KEYS_SINCE: dict[str, str] = {
    **dict.fromkeys(
        [
            "allow-insecure-host",
            "cache-dir",
            "compile-bytecode",
            "concurrent-builds",
            "concurrent-downloads",
            "concurrent-installs",
            "config-settings",
            "constraint-dependencies",
            "dev-dependencies",
            "environments",
            "exclude-newer",
            "extra-index-url",
            "find-links",
            "index-strategy",
            "index-url",
            "keyring-provider",
            "link-mode",
            "managed",
            "native-tls",
            "no-binary",
            "no-binary-package",
            "no-build",
            "no-build-isolation",
            "no-build-isolation-package",
            "no-build-package",
            "no-cache",
            "no-index",
            "no-sources",
            "offline",
            "override-dependencies",
            "package",
            "pip",
            "prerelease",
            "preview",
            "python-downloads",
            "python-preference",
            "reinstall",
            "reinstall-package",
            "resolution",
            "sources",
            "upgrade",
            "upgrade-package",
            "workspace",
        ],
        "0.4.0",
    ),
    "cache-keys": "0.4.8",
    "dependency-metadata": "0.4.12",
    "publish-url": "0.4.16",
    "trusted-publishing": "0.4.16",
    "index": "0.4.23",
    "default-groups": "0.4.27",
    "conflicts": "0.5.2",
    "pypy-install-mirror": "0.5.2",
    "python-install-mirror": "0.5.2",
    "build-backend": "0.5.6",
    "check-url": "0.5.6",
    "fork-strategy": "0.5.9",
    "required-version": "0.5.14",
    "required-environments": "0.6.1",
    "build-constraint-dependencies": "0.6.2",
    "python-downloads-json-url": "0.7.3",
    "add-bounds": "0.7.9",
    "dependency-groups": "0.7.14",
    "config-settings-package": "0.8.1",
    "exclude-newer-package": "0.8.4",
    "extra-build-dependencies": "0.8.4",
    "extra-build-variables": "0.8.6",
    "exclude-dependencies": "0.9.8",
    "torch-backend": "0.9.18",
    "http-proxy": "0.9.23",
    "https-proxy": "0.9.23",
    "no-proxy": "0.9.23",
    "no-sources-package": "0.9.26",
    "system-certs": "0.11.0",
    "audit": "0.11.3",
    "preview-features": "0.11.22",
    "prerelease-package": "0.12.1",
    "minimum-libc-version": "0.12.17",
    "graalpy-install-mirror": "0.12.24",
    "pyodide-install-mirror": "0.12.24",
    "require-build-hashes": "0.13.0",
}

#: Keys ``[tool.uv]`` allows but a ``uv.toml`` may not hold, with the first uv that refuses
#: each there (crates/uv-settings/src/lib.rs ``validate_uv_toml`` at 0.5.0, 0.8.0, 0.8.4;
#: unchanged to 0.12.5 and, by the binaries, to 0.13.9). Before, such a key in a ``uv.toml``
#: is read (and ignored) like any known key.
PYPROJECT_ONLY_SINCE: dict[str, str] = {
    "workspace": "0.5.0",
    "sources": "0.5.0",
    "dev-dependencies": "0.5.0",
    "default-groups": "0.5.0",
    "managed": "0.5.0",
    "package": "0.5.0",
    "conflicts": "0.8.0",
    "dependency-groups": "0.8.0",
    "build-backend": "0.8.0",
    "environments": "0.8.4",
    "required-environments": "0.8.4",
}


def parse_version(text: str | None) -> Version | None:
    """A uv version string (``0.13.9``), or None when it is none."""
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class UvRules:
    """The rules of one uv version (:func:`rules_for`)."""

    version: str  # the version whose rules these are (NEWEST when unknown)
    known: bool  # the version was given (not the default)
    behaviours: frozenset[str]
    keys: frozenset[str]
    pyproject_only: frozenset[str]
    note: str | None  # why the rules are another version's

    def has(self, name: str) -> bool:
        return name in self.behaviours

    @property
    def empty_home_is_passwd(self) -> bool:
        return self.has("an empty HOME means the passwd home")

    @property
    def config_home_like_cache(self) -> bool:
        return self.has("the user config dir comes from etcetera")

    @property
    def working_directory(self) -> tuple[str, ...]:
        """The variables that set ``--directory``, the first that is set winning."""
        if self.has("UV_WORKING_DIR sets --directory, UV_WORKING_DIRECTORY only when it is unset"):
            return ("UV_WORKING_DIR", "UV_WORKING_DIRECTORY")
        if self.has("UV_WORKING_DIRECTORY sets --directory"):
            return ("UV_WORKING_DIRECTORY",)
        return ()

    @property
    def no_system_config_var(self) -> bool:
        return self.has("UV_NO_SYSTEM_CONFIG skips the system config")

    @property
    def skips_empty_config_dirs(self) -> bool:
        return self.has("an empty XDG_CONFIG_DIRS item is skipped")

    @property
    def enforces_required_version(self) -> bool:
        return self.known and self.has("required-version is enforced")


@cache
def rules_for(version: str | None) -> UvRules:
    """The rules uv ``version`` follows; None or an unreadable version: the newest
    known uv's. A version older than :data:`OLDEST` gets 0.4.0's rules (with a note)."""
    parsed = parse_version(version)
    note = None
    if parsed is None:
        if version:
            note = f"uv version {version!r} not understood: resolved with uv {NEWEST}'s rules"
        at, shown, known = Version(NEWEST), NEWEST, False
    else:
        at, shown, known = parsed, str(parsed), True
        if parsed < Version(OLDEST):
            note = f"uv {parsed} is older than {OLDEST}: resolved with uv {OLDEST}'s rules"
            at = Version(OLDEST)
    return UvRules(
        version=shown,
        known=known,
        behaviours=frozenset(r.name for r in RULES if at >= Version(r.since)),
        keys=frozenset(k for k, since in KEYS_SINCE.items() if at >= Version(since)),
        pyproject_only=frozenset(
            k for k, since in PYPROJECT_ONLY_SINCE.items() if at >= Version(since)
        ),
        note=note,
    )
