"""The analysis package as a Python user installs it: into a virtual environment with pip,
offline, then run through its console entry point.

usage: test_package.py SOURCE_ROOT SGDMC

Debian's system Python refuses pip installs (PEP 668), so the package goes into
`python3 -m venv --system-site-packages` (numpy, pandas, h5py, scipy and matplotlib come from
Debian) with `pip install --no-build-isolation --no-index --no-deps`: --no-deps because Debian
registers its h5py as the distribution "h5py._debian_h5py_serial", which pip cannot match to the
declared dependency "h5py" (a laptop with PyPI installs all five by name). The folder is copied
first, so the build leaves nothing in the checkout. The entry point `sgdmc-analysis` must come from the
environment (not the checkout), print its help, and print the same table as
`python3 -m analysis` run from the source for a real study file.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


def main() -> int:
    root, sgdmc = Path(sys.argv[1]).resolve(), str(Path(sys.argv[2]).resolve())
    version = re.search(r"version\s*:\s*'([^']+)'", (root / "meson.build").read_text())
    pyproject = (root / "analysis" / "pyproject.toml").read_text()
    check(version is not None and f'version = "{version.group(1)}"' in pyproject,
          "analysis/pyproject.toml's version is not meson.build's")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "analysis"
        shutil.copytree(root / "analysis", source,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        venv = work / "venv"
        made = run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)])
        check(made.returncode == 0, f"python3 -m venv: {made.stderr}")
        pip = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-build-isolation",
                   "--no-index", "--no-deps", "--quiet", str(source)], cwd=work)
        check(pip.returncode == 0, f"pip install: {pip.stdout}{pip.stderr}")
        entry = venv / "bin" / "sgdmc-analysis"
        check(entry.exists(), "no sgdmc-analysis entry point in the environment")
        if failures:
            return 1
        # the installed package, from a folder where no copy is importable
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        where = run([str(venv / "bin" / "python"), "-c",
                     "import analysis, sys; print(analysis.__file__)"], cwd=elsewhere)
        check(str(venv) in where.stdout, f"analysis imported from {where.stdout.strip()}, "
              "not from the environment")
        helped = run([str(entry), "--help"], cwd=elsewhere)
        check(helped.returncode == 0 and "usage" in helped.stdout, f"--help: {helped.stderr}")
        config = root / "tests" / "study" / "small.cfg"
        study = run([sgdmc, "study", str(config), f"--output={work / 'small.h5'}", "--quiet"],
                    cwd=work, env={**os.environ, "OMPI_MCA_pml": "ob1"})
        check(study.returncode == 0, f"sgdmc study: {study.stderr}")
        installed = run([str(entry), "table", str(work / "small.h5"), "--format", "csv"],
                        cwd=elsewhere)
        from_source = run(["/usr/bin/python3", "-m", "analysis", "table", str(work / "small.h5"),
                           "--format", "csv"], cwd=root)
        check(installed.returncode == 0 and installed.stdout == from_source.stdout
              and installed.stdout.count("\n") >= 2,
              f"installed table differs: {installed.stderr or installed.stdout[:200]!r} vs "
              f"{from_source.stdout[:200]!r}")
        check(not (root / "analysis" / "build").exists(), "the install left analysis/build")
    print(f"test_package: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
