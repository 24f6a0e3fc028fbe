"""The `hq` command and hq.toml (hq/cli.py, hq/service/config.py): the example is valid, a
bad field is named, a token is made with the line hq.toml keeps of it (its hash alone)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hq.service.config import load_hq_config
from hq.service.tokens import TokenAccess, hashed
from hq.store.venue import VenueStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "firmware_configs" / "hq.toml.example"


def hq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hq", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def test_the_example_hq_toml_is_valid() -> None:
    config = load_hq_config(EXAMPLE)
    assert config.nats.replicas == 3 and len(config.nats.servers) == 3
    done = hq("check", "-c", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "fine" in done.stdout


def test_a_token_kept_in_clear_or_a_bad_venue_is_refused_with_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "hq.toml"
    bad.write_text('[[token]]\nname = "x"\nsecret = "hunter2-in-clear"\nvenues = ["V.1"]\n')
    done = hq("check", "-c", str(bad))
    assert done.returncode == 2
    assert "secret" in done.stderr and "venues" in done.stderr
    assert "hunter2" not in done.stderr  # a secret is never echoed


def test_hq_token_prints_a_token_and_the_hash_hq_toml_keeps(tmp_path: Path) -> None:
    done = hq("token", "--name", "Beijing", "--venues", "BJ1,BJ2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    token = lines[1]
    secret = re.search(r'secret = "(sha256:[0-9a-f]{64})"', done.stdout)
    assert secret and secret.group(1) == hashed(token)
    config = tmp_path / "hq.toml"
    config.write_text("\n".join(lines[3:]) + "\n")
    holder = TokenAccess(load_hq_config(config).token).holder(f"Bearer {token}")
    assert holder is not None and holder.sees("BJ2") and not holder.sees("SH1")
    assert TokenAccess(load_hq_config(config).token).holder(f"Bearer {secret.group(1)}") is None


def test_hq_venues_lists_what_head_office_holds(tmp_path: Path) -> None:
    state = tmp_path / "state"
    VenueStore(state, "BJ1").close()
    config = tmp_path / "hq.toml"
    config.write_text(f'[hq]\nstate_dir = "{state}"\n')
    done = hq("venues", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("BJ1: 0 entries in order, 0 stored")


def test_hub_status_says_how_far_head_office_is() -> None:
    from datetime import UTC

    from gate.i18n import words
    from hub.views.console.status import show_status

    answer = {"head_office": {"venue": "BJ1", "entries": 120, "acked": 100, "behind": 20}}
    english = "\n".join(show_status(answer, words("en"), UTC))
    assert "BJ1: 100 of 120 entries acknowledged, 20 to send" in english
    chinese = "\n".join(show_status(answer, words("zh-CN"), UTC))
    assert "总部已确认 100 条" in chinese
    assert "head office" not in "\n".join(show_status({}, words("en"), UTC))
