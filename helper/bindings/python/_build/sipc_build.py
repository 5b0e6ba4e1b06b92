"""In-tree PEP 517 build backend (standard library only): `pip install ./helper/bindings/python` needs neither
network nor setuptools. It packs sipc/ (and a libsipc copied beside it, if any) into a pure-Python wheel."""
from __future__ import annotations

import base64
import hashlib
import os
import tarfile
import zipfile
from pathlib import Path

NAME = "sipc"
VERSION = "1.0.0"
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / NAME
LIBRARIES = ("libsipc.so", "sipc.dll", "libsipc.dylib")
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: Named, synchronous, shared-memory channels between processes (ctypes binding of libsipc)
License: MIT
Requires-Python: >=3.9
Classifier: Programming Language :: Python :: 3
Classifier: Typing :: Typed
Description-Content-Type: text/markdown

"""


def _package_files() -> list[Path]:
    files = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix in (".py", ".typed") or path.name.startswith(LIBRARIES):
            files.append(path)
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata_text() -> str:
    return METADATA + (ROOT / "README.md").read_text(encoding="utf-8")


def _wheel_name() -> str:
    return f"{NAME}-{VERSION}-py3-none-any.whl"


def _dist_info() -> str:
    return f"{NAME}-{VERSION}.dist-info"


def _write_wheel(wheel_directory: str, files: list[tuple[str, bytes]]) -> str:
    dist_info = _dist_info()
    files = files + [
        (f"{dist_info}/METADATA", _metadata_text().encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: sipc_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist_info}/top_level.txt", f"{NAME}\n".encode()),
    ]
    record = [_record_line(name, data) for name, data in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    path = os.path.join(wheel_directory, _wheel_name())
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            is_library = name.rsplit("/", 1)[-1].startswith(LIBRARIES)
            info.external_attr = (0o755 if is_library else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return os.path.basename(path)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = Path(metadata_directory) / _dist_info()
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(_metadata_text(), encoding="utf-8")
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = [(path.relative_to(ROOT).as_posix(), path.read_bytes()) for path in _package_files()]
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file that puts this folder on sys.path: edits show up without reinstalling.
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", f"{ROOT}\n".encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    path = os.path.join(sdist_directory, f"{base}.tar.gz")
    with tarfile.open(path, "w:gz") as sdist:
        for relative in ["pyproject.toml", "README.md", "_build/sipc_build.py"]:
            sdist.add(ROOT / relative, arcname=f"{base}/{relative}")
        for file in _package_files():
            sdist.add(file, arcname=f"{base}/{file.relative_to(ROOT).as_posix()}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata_text().encode()
        info.size = len(data)
        import io
        sdist.addfile(info, io.BytesIO(data))
    return os.path.basename(path)
