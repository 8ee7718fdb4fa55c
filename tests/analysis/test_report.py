"""`python3 -m analysis report`: one self-contained HTML page per study.

The page is opened in Debian's headless chromium: every image must render (a non-zero
natural width, read by a script added to a copy of the page) and the page must fetch
nothing (chromium's own net log: no request started by the page; a control page with
two outside images shows the log does catch such requests). Its table is the one
`analysis table` prints, its figures those the study is about, and its caveats count
what the file holds, checked with h5py directly."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO

from analysis import load_study
from analysis.plots import automatic

# per image, after load: its natural width, and how many of its pixels are drawn (not
# transparent) when painted on a canvas; a truncated image has its width but few pixels
PROBE = ("<script>window.addEventListener('load', () => document.body.setAttribute("
         "'data-images', Array.from(document.images).map(i => { const c = "
         "document.createElement('canvas'); c.width = i.naturalWidth; c.height = "
         "i.naturalHeight; let drawn = 0; if (i.naturalWidth > 0) { const x = "
         "c.getContext('2d'); x.drawImage(i, 0, 0); const d = x.getImageData(0, 0, c.width, "
         "c.height).data; for (let k = 3; k < d.length; k += 4) drawn += d[k] > 0; } return "
         "i.naturalWidth + ':' + drawn + ':' + i.naturalWidth * i.naturalHeight; }).join(',')));"
         "</script>")


def analysis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (apt install chromium; .ci/install does)")
    return path


def browse(page: Path, net_log: Path) -> str:
    """The page's DOM after load in headless chromium, with every host name
    unresolvable so that nothing leaves the machine; chromium's net log to net_log."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000",
         f"--user-data-dir={page.parent / 'chromium-profile'}", f"--log-net-log={net_log}",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def page_requests(net_log: Path) -> list[str]:
    """URLs of the requests the page started. Chromium's own (updates, time)
    carry the initiator 'not an origin'; a file:// page's carry 'null'."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


@pytest.fixture(scope="module")
def page(study_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "page.html"
    result = analysis("report", str(study_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


def test_page_renders_every_image_and_fetches_nothing(page: Path, study_file: Path) -> None:
    text = page.read_text()
    images = re.findall(r"<img [^>]*src=\"([^\"]*)\"", text)
    study = load_study(str(study_file), trajectory=True)
    assert len(images) == len(automatic(study)) >= 4
    probe = page.with_name("probe.html")
    probe.write_text(text.replace("</body>", PROBE + "</body>"))
    dom = browse(probe, page.with_name("probe-net.json"))
    found = re.search(r'data-images="([^"]*)"', dom)
    assert found, "the probe script did not run"
    drawn = [[int(v) for v in image.split(":")] for image in found.group(1).split(",")]
    assert len(drawn) == len(images), drawn
    for width, painted, pixels in drawn:  # rendered whole: every pixel painted (opaque PNGs)
        assert width > 0 and painted == pixels, drawn
    browse(page, page.with_name("net.json"))
    assert page_requests(page.with_name("net.json")) == []
    # no reference that could load anything: every src a data: URL, no links, styles
    # or scripts from files
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"<(link|script|iframe|object|embed)\b|url\(|@import|href=", text)


def test_the_net_log_catches_a_page_that_fetches(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/a.png">'
                       '<img src="https://example.org/b.png"></body></html>')
    browse(control, tmp_path / "net.json")
    assert sorted(page_requests(tmp_path / "net.json")) == \
        ["http://127.0.0.1:9/a.png", "https://example.org/b.png"]


def test_page_holds_the_table_config_and_verdicts(page: Path, study_file: Path) -> None:
    text = page.read_text()
    table = analysis("table", str(study_file))
    assert table.returncode == 0, table.stderr
    assert html.escape(table.stdout) in text
    with h5py.File(study_file) as f:
        config = str(f.attrs["config"])
        assert html.escape(config) in text
        for key in ("status", "end_state", "certified_nonconvergent", "min_risk_source"):
            assert f"<dt>{key}</dt>" in text
        # the caveats count what the file holds
        done = int(np.sum(f["runs/done"][:] == 1))

        def count(field: str, *values: str) -> int:
            names = h5py.check_enum_dtype(f[f"runs/{field}"].dtype)
            assert names is not None
            return int(np.sum(np.isin(f[f"runs/{field}"][:], [names[v] for v in values])))

        expected = {
            f"In {{}} of {done} runs R* is unknown": count("min_risk_source", "unknown"),
            f"In {{}} of {done} runs R*'s upper bound min_risk is the risk of a network found":
                count("min_risk_source", "estimated", "constructed", "computed"),
            f"{{}} of {done} runs are undecided": count("status", "undecided"),
            f"{{}} of {done} runs were still descending": count("end_state", "descending"),
            f"In {{}} of {done} runs final_risk is a quadrature's estimate":
                int(np.sum(f["runs/risk_exact"][:] == 0)),
        }
    assert sum(n > 0 for n in expected.values()) >= 2, expected
    for sentence, n in expected.items():
        assert (html.escape(sentence.format(n)) in text) == (n > 0), (sentence, n)
    rates = analysis("rates", str(study_file), "--x", "width")
    assert html.escape(rates.stdout) in text


def test_half_done_file_says_so(half_done: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    half_file = half_done[0]
    out = tmp_path / "half.html"
    result = analysis("report", str(half_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with h5py.File(half_file) as f:
        done, tasks = int(np.sum(f["runs/done"][:] == 1)), int(f.attrs["tasks"])
    assert done < tasks
    assert f"The file holds {done} of {tasks} tasks done" in out.read_text()


def test_errors_are_one_line_and_leave_nothing(study_file: Path, tmp_path: Path) -> None:
    cases = [(["report", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "a.html")],
              "missing.h5"),
             (["report", str(study_file), "--out", str(tmp_path)], "--out"),
             (["report", str(study_file), "--out", str(tmp_path / "no" / "dir" / "a.html")],
              "--out"),
             (["report", str(study_file), "--grad_eps", "-1"], "--grad_eps")]
    for args, named in cases:
        result = analysis(*args)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], (args, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_refuted_min_risk_is_counted(tmp_path: Path) -> None:
    """A config's min_risk above some runs' final risk is refuted by them (R* is at most
    the risk of any network): the caveats count those runs, checked against the file's
    final risks, and they are judged on the proven R*(1) = 4 / (45 * 3^4) instead."""
    from conftest import run_study

    from analysis.html_page import caveats

    given = 0.01
    config = tmp_path / "given.cfg"
    config.write_text(f'name = "given"; seeds = 24;\ntrain = {{ width = 1; steps = 3000; '
                      f'lr = 0.01; min_risk = {given}; }};\n')
    path = run_study(config, tmp_path / "given.h5")
    with h5py.File(path) as f:
        risk = f["runs/final_risk"][:]
        lo = f["runs/min_risk_lo"][:]
        below = risk < given * (1 - 1e-12)
    # the study's own facts, so that the check is not vacuous: some runs below, some above
    assert 0 < below.sum() < len(risk), risk
    closed = 4 / (45 * 3.0 ** 4)
    assert np.all(np.abs(lo[below] - closed) <= 1e-12 * closed) and np.all(lo[~below] == given)
    sentences = caveats(load_study(path))
    refuted = [s for s in sentences if "refutes it as R*" in s]
    assert len(refuted) == 1 and refuted[0].startswith(f"{int(below.sum())} of those "
                                                      f"{len(risk)} runs"), sentences


def test_quadrature_risks_are_counted(tmp_path: Path) -> None:
    """Runs whose final risk is a quadrature's estimate (2 inputs: Sobol points) are counted
    in the caveats, checked against the file's risk_exact; 1-D ReLU runs on x^2 are exact."""
    from conftest import run_study

    from analysis.html_page import caveats

    config = tmp_path / "quadrature.cfg"
    config.write_text('name = "quadrature"; seeds = 6;\ngrid = { input_dim = [1, 2]; };\n'
                      'train = { width = 2; steps = 10; };\n')
    path = run_study(config, tmp_path / "quadrature.h5")
    with h5py.File(path) as f:
        exact = f["runs/risk_exact"][:]
        dim = f["runs/input_dim"][:]
    assert np.all(exact[dim == 1] == 1) and np.all(exact[dim == 2] == 0), (exact, dim)
    sentences = [s for s in caveats(load_study(path)) if "quadrature's estimate" in s]
    assert len(sentences) == 1 and sentences[0].startswith(
        f"In {int(np.sum(exact == 0))} of {len(exact)} runs"), sentences
