"""A dependency-free PEP 517 backend (one module, one wheel), copied into a throwaway
project so the real uv builds a wheel with nothing to download: its cache then holds a
built wheel in ``sdists-vN/path/`` and its archive."""

import base64
import hashlib
import os
import zipfile

NAME, VERSION = "localpkg", "0.1"
DIST = f"{NAME}-{VERSION}"
INFO = f"{DIST}.dist-info"


def _files():  # type: ignore[no-untyped-def]
    meta = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
    wheel = "Wheel-Version: 1.0\nGenerator: tiny\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return {f"{NAME}.py": "VALUE = 1\n", f"{INFO}/METADATA": meta, f"{INFO}/WHEEL": wheel}


def _record(files):  # type: ignore[no-untyped-def]
    lines = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        lines.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    lines.append(f"{INFO}/RECORD,,")
    return "\n".join(lines) + "\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # type: ignore[no-untyped-def]
    files = _files()
    files[f"{INFO}/RECORD"] = _record(files)
    name = f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name


def get_requires_for_build_wheel(config_settings=None):  # type: ignore[no-untyped-def]
    return []
