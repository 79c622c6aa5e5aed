"""Scenarios for the uv resolver's differential test: each is a tree of files written under a
private directory, variables, and the working directory uv runs in.

Paths in ``files`` and values are relative to the scenario's root ``R`` (written as
``{R}``): ``home/`` is HOME, ``cwd/`` the default working directory, ``tmp/`` TMPDIR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROJECT = '[project]\nname = "p"\nversion = "0"\n'
#: A member's project table (two members of one workspace named alike fail discovery).
MEMBER = '[project]\nname = "m"\nversion = "0"\n'


@dataclass(frozen=True)
class Scenario:
    name: str
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "cwd"
    passwd_home: bool = False  # HOME is unset/empty: the account's passwd home applies


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("default"),
    Scenario("xdg cache home", env={"XDG_CACHE_HOME": "{R}/xc"}),
    Scenario("xdg cache home trailing slash", env={"XDG_CACHE_HOME": "{R}/xc/"}),
    Scenario("xdg cache home relative is ignored", env={"XDG_CACHE_HOME": "rel"}),
    Scenario("xdg cache home with a leading blank is ignored", env={"XDG_CACHE_HOME": " {R}/x"}),
    Scenario("empty HOME: passwd home", env={"HOME": ""}, passwd_home=True),
    Scenario("UV_CACHE_DIR absolute", env={"UV_CACHE_DIR": "{R}/c"}),
    Scenario("UV_CACHE_DIR relative: the working dir", env={"UV_CACHE_DIR": "rel/x"}),
    Scenario("UV_CACHE_DIR tilde is not expanded", env={"UV_CACHE_DIR": "~/x"}),
    Scenario("UV_CACHE_DIR dots and slashes", env={"UV_CACHE_DIR": "{R}/a/./b//c/"}),
    Scenario("UV_CACHE_DIR empty: error", env={"UV_CACHE_DIR": ""}),
    Scenario("UV_NO_CACHE=1", env={"UV_NO_CACHE": "1"}),
    Scenario("UV_NO_CACHE=TRUE (any case)", env={"UV_NO_CACHE": "TRUE"}),
    Scenario("UV_NO_CACHE=off", env={"UV_NO_CACHE": "off"}),
    Scenario("UV_NO_CACHE invalid: error", env={"UV_NO_CACHE": "bogus"}),
    Scenario("UV_NO_CACHE empty: error", env={"UV_NO_CACHE": ""}),
    Scenario("UV_NO_CACHE padded: error", env={"UV_NO_CACHE": " 1"}),
    Scenario(
        "UV_NO_CACHE wins over UV_CACHE_DIR", env={"UV_NO_CACHE": "yes", "UV_CACHE_DIR": "/x"}
    ),
    Scenario("user config", files={"home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n'}),
    Scenario(
        "user config under XDG_CONFIG_HOME",
        files={"xdgc/uv/uv.toml": 'cache-dir = "{R}/xdg-user"\n'},
        env={"XDG_CONFIG_HOME": "{R}/xdgc"},
    ),
    Scenario(
        "relative XDG_CONFIG_HOME is ignored",
        files={
            "cwd/xdgc/uv/uv.toml": 'cache-dir = "/never"\n',
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n',
        },
        env={"XDG_CONFIG_HOME": "xdgc"},
    ),
    Scenario(
        "user config relative cache-dir: the working dir, not the file's",
        files={"home/.config/uv/uv.toml": 'cache-dir = "relu"\n'},
        cwd="cwd/sub",
    ),
    Scenario(
        "user config tilde is not expanded",
        files={"home/.config/uv/uv.toml": 'cache-dir = "~/t"\n'},
    ),
    Scenario(
        "project uv.toml beats user",
        files={
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n',
            "cwd/uv.toml": 'cache-dir = "{R}/proj"\n',
        },
    ),
    Scenario(
        "project uv.toml found in a parent",
        files={"cwd/uv.toml": 'cache-dir = "{R}/proj"\n'},
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "pyproject [tool.uv]",
        files={"cwd/pyproject.toml": '[tool.uv]\ncache-dir = "pp"\n'},
        cwd="cwd/sub",
    ),
    Scenario(
        "pyproject dotted key",
        files={"cwd/pyproject.toml": 'tool.uv.cache-dir = "{R}/dotted"\n'},
    ),
    Scenario(
        "pyproject without [tool.uv] is passed over",
        files={"cwd/pyproject.toml": "[tool.black]\n", "uv.toml": 'cache-dir = "{R}/up"\n'},
    ),
    Scenario(
        "empty [tool.uv] stops the search; user applies",
        files={
            "cwd/pyproject.toml": "[tool.uv]\n",
            "uv.toml": 'cache-dir = "/never"\n',
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n',
        },
    ),
    Scenario(
        "uv.toml without cache keys stops the search",
        files={"cwd/uv.toml": "offline = true\n", "uv.toml": 'cache-dir = "/never"\n'},
    ),
    Scenario(
        "pyproject with an unknown [tool.uv] key is warned about and passed over",
        files={
            "cwd/pyproject.toml": '[tool.uv]\nbogus = 1\ncache-dir = "/never"\n',
            "uv.toml": 'cache-dir = "{R}/up"\n',
        },
    ),
    Scenario(
        "malformed pyproject is passed over",
        files={
            "cwd/pyproject.toml": "[tool.uv\n",
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/u"\n',
        },
    ),
    Scenario(
        "pyproject with a cache-dir of the wrong type is passed over",
        files={"cwd/pyproject.toml": "[tool.uv]\ncache-dir = 5\n"},
    ),
    Scenario("malformed uv.toml: error", files={"cwd/uv.toml": "cache-dir = [\n"}),
    Scenario("uv.toml unknown key: error", files={"cwd/uv.toml": "bogus-key = 1\n"}),
    Scenario("uv.toml wrong type: error", files={"cwd/uv.toml": 'no-cache = "yes"\n'}),
    Scenario(
        "uv.toml with a pyproject-only key: error",
        files={"cwd/uv.toml": "[workspace]\nmembers = []\n"},
    ),
    Scenario("malformed user config: error", files={"home/.config/uv/uv.toml": "x = \n"}),
    Scenario(
        "project no-cache = false beats user no-cache = true",
        files={"cwd/uv.toml": "no-cache = false\n", "home/.config/uv/uv.toml": "no-cache = true\n"},
    ),
    Scenario("user no-cache = true", files={"home/.config/uv/uv.toml": "no-cache = true\n"}),
    Scenario(
        "UV_CACHE_DIR beats the project",
        files={"cwd/uv.toml": 'cache-dir = "/never"\n'},
        env={"UV_CACHE_DIR": "{R}/var"},
    ),
    Scenario(
        "UV_NO_CONFIG=1 loads no file",
        files={"cwd/uv.toml": 'cache-dir = "/never"\n', "home/.config/uv/uv.toml": "x = 1\n"},
        env={"UV_NO_CONFIG": "1"},
    ),
    Scenario(
        "UV_NO_CONFIG=0",
        files={"cwd/uv.toml": 'cache-dir = "{R}/proj"\n'},
        env={"UV_NO_CONFIG": "0"},
    ),
    Scenario("UV_NO_CONFIG empty: error", env={"UV_NO_CONFIG": ""}),
    Scenario(
        "UV_CONFIG_FILE only",
        files={
            "cfg.toml": 'cache-dir = "{R}/cfgfile"\n',
            "cwd/uv.toml": 'cache-dir = "/never"\n',
            "home/.config/uv/uv.toml": "no-cache = true\n",
        },
        env={"UV_CONFIG_FILE": "{R}/cfg.toml"},
    ),
    Scenario(
        "UV_CONFIG_FILE relative",
        files={"cfg.toml": 'cache-dir = "{R}/cfgfile"\n'},
        env={"UV_CONFIG_FILE": "../cfg.toml"},
    ),
    Scenario("UV_CONFIG_FILE missing: error", env={"UV_CONFIG_FILE": "{R}/missing.toml"}),
    Scenario("UV_CONFIG_FILE empty: error", env={"UV_CONFIG_FILE": ""}),
    Scenario(
        "system config from XDG_CONFIG_DIRS, the first that exists",
        files={"s1/uv/uv.toml": 'cache-dir = "{R}/s1"\n', "s2/uv/uv.toml": 'cache-dir = "/s2"\n'},
        env={"XDG_CONFIG_DIRS": "{R}/none:{R}/s1:{R}/s2"},
    ),
    Scenario(
        "XDG_CONFIG_DIRS skips an empty item",
        files={"s2/uv/uv.toml": 'cache-dir = "{R}/s2"\n'},
        env={"XDG_CONFIG_DIRS": ":{R}/s2"},
    ),
    Scenario(
        "UV_NO_SYSTEM_CONFIG",
        files={"s2/uv/uv.toml": 'cache-dir = "/never"\n'},
        env={"XDG_CONFIG_DIRS": "{R}/s2", "UV_NO_SYSTEM_CONFIG": "1"},
    ),
    Scenario(
        "user beats system",
        files={
            "s2/uv/uv.toml": 'cache-dir = "/never"\n',
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n',
        },
        env={"XDG_CONFIG_DIRS": "{R}/s2"},
    ),
    Scenario(
        "system no-cache, user cache-dir: disabled",
        files={
            "s2/uv/uv.toml": "no-cache = true\n",
            "home/.config/uv/uv.toml": 'cache-dir = "/x"\n',
        },
        env={"XDG_CONFIG_DIRS": "{R}/s2"},
    ),
    Scenario(
        "project: search starts at the workspace root",
        files={
            "cwd/pyproject.toml": PROJECT,
            "cwd/sub/uv.toml": 'cache-dir = "/never"\n',
            "uv.toml": 'cache-dir = "{R}/above-root"\n',
        },
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "workspace member: the root's [tool.uv] decides",
        files={
            "cwd/pyproject.toml": PROJECT
            + '[tool.uv]\ncache-dir = "{R}/ws-root"\n[tool.uv.workspace]\nmembers = ["s*"]\n',
            "cwd/sub/pyproject.toml": MEMBER + '[tool.uv]\ncache-dir = "/never"\n',
        },
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "not a member: standalone",
        files={
            "cwd/pyproject.toml": PROJECT + '[tool.uv.workspace]\nmembers = ["other"]\n',
            "cwd/sub/pyproject.toml": PROJECT + '[tool.uv]\ncache-dir = "{R}/member"\n',
        },
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "excluded member: standalone",
        files={
            "cwd/pyproject.toml": PROJECT
            + '[tool.uv.workspace]\nmembers = ["s*"]\nexclude = ["sub"]\n',
            "cwd/sub/pyproject.toml": PROJECT + '[tool.uv]\ncache-dir = "{R}/member"\n',
        },
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "unmanaged project: search from the working dir",
        files={
            "cwd/pyproject.toml": PROJECT + "[tool.uv]\nmanaged = false\n",
            "cwd/sub/uv.toml": 'cache-dir = "{R}/sub"\n',
        },
        cwd="cwd/sub/deep",
    ),
    Scenario(
        "UV_WORKING_DIRECTORY moves the search and relative paths",
        files={"cwd/sub/uv.toml": 'cache-dir = "rel"\n'},
        env={"UV_WORKING_DIRECTORY": "{R}/cwd/sub"},
    ),
    # ---- what changed between uv versions (resolve/uvrules.py), one scenario each or more
    Scenario(
        "UV_WORKING_DIR moves the search (uv 0.9.14 on)",
        files={"cwd/sub/uv.toml": 'cache-dir = "{R}/wd"\n'},
        env={"UV_WORKING_DIR": "{R}/cwd/sub"},
    ),
    Scenario(
        "UV_WORKING_DIR beats UV_WORKING_DIRECTORY",
        files={"cwd/sub/uv.toml": 'cache-dir = "{R}/wd"\n', "cwd/o/uv.toml": 'cache-dir = "/o"\n'},
        env={"UV_WORKING_DIR": "{R}/cwd/sub", "UV_WORKING_DIRECTORY": "{R}/cwd/o"},
    ),
    Scenario(
        "UV_WORKING_DIRECTORY with a relative UV_CACHE_DIR",
        env={"UV_WORKING_DIRECTORY": "{R}/cwd/sub", "UV_CACHE_DIR": "c"},
    ),
    Scenario(
        "empty HOME: the user config (uv < 0.8.19: relative to the working dir)",
        files={"cwd/.config/uv/uv.toml": 'cache-dir = "{R}/rel-home"\n'},
        env={"HOME": ""},
        passwd_home=True,
    ),
    Scenario(
        "XDG_CONFIG_DIRS: an empty item between two",
        files={"s2/uv/uv.toml": 'cache-dir = "{R}/s2"\n'},
        env={"XDG_CONFIG_DIRS": "{R}/none::{R}/s2"},
    ),
    Scenario(
        "XDG_CONFIG_DIRS: a relative item is taken from the working dir",
        files={"cwd/rel/uv/uv.toml": 'cache-dir = "{R}/relsys"\n'},
        env={"XDG_CONFIG_DIRS": "rel"},
    ),
    Scenario(
        "UV_NO_SYSTEM_CONFIG=0 reads the system config",
        files={"s2/uv/uv.toml": 'cache-dir = "{R}/s2"\n'},
        env={"XDG_CONFIG_DIRS": "{R}/s2", "UV_NO_SYSTEM_CONFIG": "0"},
    ),
    Scenario(
        "UV_NO_SYSTEM_CONFIG invalid (an error once uv reads it)",
        files={"s2/uv/uv.toml": 'cache-dir = "{R}/s2"\n'},
        env={"XDG_CONFIG_DIRS": "{R}/s2", "UV_NO_SYSTEM_CONFIG": "maybe"},
    ),
    Scenario(
        "UV_NO_SYSTEM_CONFIG keeps the user config",
        files={
            "s2/uv/uv.toml": "no-cache = true\n",
            "home/.config/uv/uv.toml": 'cache-dir = "{R}/user"\n',
        },
        env={"XDG_CONFIG_DIRS": "{R}/s2", "UV_NO_SYSTEM_CONFIG": "true"},
    ),
    Scenario(
        "uv.toml with required-version (a key of uv 0.5.14)",
        files={"cwd/uv.toml": 'required-version = ">=0.1"\ncache-dir = "{R}/rv"\n'},
    ),
    Scenario(
        "uv.toml whose required-version the running uv does not meet: error",
        files={"cwd/uv.toml": 'required-version = ">=99"\ncache-dir = "{R}/rv"\n'},
    ),
    Scenario(
        "user config whose required-version is a bare version: ==",
        files={"home/.config/uv/uv.toml": 'required-version = "0.0.1"\ncache-dir = "{R}/u"\n'},
    ),
    Scenario(
        "uv.toml with add-bounds (a key of uv 0.7.9)",
        files={"cwd/uv.toml": 'add-bounds = "lower"\ncache-dir = "{R}/ab"\n'},
    ),
    Scenario(
        "uv.toml with http-proxy (a key of uv 0.9.23)",
        files={"cwd/uv.toml": 'http-proxy = "http://127.0.0.1:9"\ncache-dir = "{R}/hp"\n'},
    ),
    Scenario(
        "uv.toml with system-certs (a key of uv 0.11.0)",
        files={"cwd/uv.toml": 'system-certs = true\ncache-dir = "{R}/sc"\n'},
    ),
    Scenario(
        "user uv.toml with require-build-hashes (a key of uv 0.13.0)",
        files={"home/.config/uv/uv.toml": 'require-build-hashes = true\ncache-dir = "{R}/u"\n'},
    ),
    Scenario(
        "[tool.uv] with a key newer than the uv: passed over by that uv",
        files={
            "cwd/pyproject.toml": '[tool.uv]\nsystem-certs = true\ncache-dir = "{R}/pp"\n',
            "uv.toml": 'cache-dir = "{R}/up"\n',
        },
    ),
    Scenario(
        "uv.toml with conflicts (pyproject-only from uv 0.8.0)",
        files={"cwd/uv.toml": 'conflicts = []\ncache-dir = "{R}/cf"\n'},
    ),
    Scenario(
        "uv.toml with environments (pyproject-only from uv 0.8.4)",
        files={"cwd/uv.toml": 'environments = []\ncache-dir = "{R}/en"\n'},
    ),
    Scenario(
        "UV_NO_CACHE with a missing TMPDIR: error",
        env={"UV_NO_CACHE": "1", "TMPDIR": "{R}/missing"},
    ),
    Scenario(
        "UV_NO_CACHE with an empty TMPDIR: /tmp",
        env={"UV_NO_CACHE": "1", "TMPDIR": ""},
    ),
    Scenario(
        "UV_NO_CACHE with a relative TMPDIR: from the working dir",
        files={"cwd/t/.keep": ""},
        env={"UV_NO_CACHE": "1", "TMPDIR": "t"},
    ),
    Scenario(
        "no-cache in a config with a missing TMPDIR: error",
        files={"cwd/uv.toml": "no-cache = true\n"},
        env={"TMPDIR": "{R}/missing"},
    ),
)
