"""`install-display`: a wall display opens the hub's page full screen in the venue's language,
with Chromium and the CJK fonts it needs; into a `--root` directory, as an image is made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.install_display import AUTOSTART, PACKAGES, display_url
from deploy.target import UsageError

REPO = Path(__file__).resolve().parent.parent


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / "install-display"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_display_opens_the_hubs_page_in_its_language_and_names_its_fonts(tmp_path: Path):
    done = install(tmp_path, "--hub", "http://hub.local:8080", "--lang", "zh-CN")
    assert done.returncode == 0, done.stderr
    entry = (tmp_path / AUTOSTART.lstrip("/")).read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line.startswith("Exec=chromium --kiosk ")
    assert exec_line.endswith(' --lang=zh-CN "http://hub.local:8080/?lang=zh-CN"')
    assert "--disable-features=Translate" in exec_line  # no offer to translate the Chinese page
    assert "fonts-noto-cjk" in PACKAGES and "fonts-noto-cjk" in done.stdout  # a note for the image
    manifest = (tmp_path / "etc/wristgate/install-display.manifest").read_text()
    assert f"0644 root:root {AUTOSTART}" in manifest

    again = install(tmp_path, "--hub", "http://hub.local:8080", "--lang", "zh-CN")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    english = install(tmp_path, "--hub", "http://10.0.0.2:8080/", "--lang", "en")
    assert english.returncode == 0 and "updated" in english.stdout
    assert '"http://10.0.0.2:8080/?lang=en"' in (tmp_path / AUTOSTART.lstrip("/")).read_text()


def test_a_language_it_does_not_speak_is_refused_with_the_choices(tmp_path: Path):
    done = install(tmp_path, "--hub", "http://hub.local:8080", "--lang", "fr")
    assert done.returncode == 2
    assert "en" in done.stderr and "zh-CN" in done.stderr
    assert not (tmp_path / AUTOSTART.lstrip("/")).exists()


@pytest.mark.parametrize(
    "hub",
    ["hub.local:8080", "ftp://hub", "http://hub/api/display", "http://hub/?x=1", 'http://h"b'],
)
def test_a_hub_address_that_is_not_one_is_refused(hub: str):
    with pytest.raises(UsageError, match="--hub"):
        display_url(hub, "en")


def test_the_module_runs_as_the_script_does(tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.install",
            "display",
            "--root",
            str(tmp_path),
            "--hub",
            "https://hub.example:8443",
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
