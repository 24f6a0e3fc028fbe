"""The chain's head office as the simulated chain runs it: `hq run` as a process, its hq.toml
(state, the cluster, its page, a chain-wide token), and what the chain reads of it: its API,
and its store of each venue (`{state}/venues/{venue}.db`, read-only).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from deploy.nats_process import NatsCluster
from venue.chain.held import Row, events_db, hub_last
from venue.configs import write_secret
from venue.daemon import DemoError
from venue.processes import Venue

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
TOKEN_NAME = "chain"
STALE_AFTER_S = 15.0  # a venue not heard for longer is shown stale (its hub says so every 5 s)


class HeadOffice:
    """`hq run` under `root`: hq.toml, state/, hq.log; its page on 127.0.0.1:`http_port`."""

    def __init__(self, root: Path, cluster: NatsCluster, venues: list[str], http_port: int) -> None:
        self.root = root
        self.cluster = cluster
        self.venues = venues
        self.http_port = http_port
        self.state = root / "state"
        self.config = root / "hq.toml"
        self.log = root / "hq.log"
        self.token = secrets.token_urlsafe(24)
        self.token_file = root / "chain.token"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def page_url(self) -> str:
        """The chain's page, opened with the token (the page keeps it, and drops it from the
        address bar)."""
        return f"{self.url}#token={self.token}"

    # --- the process ----------------------------------------------------------------------------

    def write_config(self) -> None:
        """hq.toml: its state, the cluster (user hq), its page, one token for every venue (kept
        hashed, as `hq token` writes it; the token itself in `token_file`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_secret(self.token_file, self.token)
        password = write_secret(self.root / "nats.password", self.cluster.users["hq"])
        secret = "sha256:" + hashlib.sha256(self.token.encode()).hexdigest()
        self.config.write_text(
            "# The simulated chain's head office (written by python -m venue.chain).\n"
            f'[hq]\nstate_dir = "{self.state}"\nstale_after_s = {STALE_AFTER_S}\n'
            f'[nats]\nservers = {json.dumps(self.cluster.urls)}\nuser = "hq"\n'
            f'password_file = "{password}"\nreplicas = {self.cluster.replicas}\n'
            f"mqtt = {json.dumps(self.cluster.mqtt_addresses)}\n"
            f'ack_every_s = 2.0\n[http]\nbind = "127.0.0.1"\nport = {self.http_port}\n'
            f'[[token]]\nname = "{TOKEN_NAME}"\nsecret = "{secret}"\nvenues = ["*"]\n'
        )

    def start(self) -> None:
        self.write_config()
        argv = [sys.executable, "-m", "hq", "run", "-c", str(self.config)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        self._wait(self._reading, "head office reading the chain's stream", START_TIMEOUT_S)

    def _reading(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise DemoError(f"hq run exited with {self.proc.returncode}: {self.tail()}")
        try:
            return bool(self.api("/healthz").get("reading"))
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def _wait(self, ready: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise DemoError(
                    f"timed out after {timeout:.0f} s waiting for {what}: {self.tail()}"
                )
            time.sleep(0.2)

    # --- what it says ---------------------------------------------------------------------------

    def api(self, path: str, timeout: float = 5.0) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read())

    def venue(self, venue: str) -> dict[str, Any]:
        return dict(self.api(f"/api/venues/{venue}"))

    def live(self, venue: str) -> bool:
        """Head office heard the venue lately, and its hub says it is live."""
        with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
            return not self.venue(venue).get("stale", True)
        return False

    def wait_live(self, venues: list[str], timeout: float = START_TIMEOUT_S) -> None:
        self._wait(
            lambda: all(self.live(v) for v in venues), f"{venues} live at head office", timeout
        )

    def entries(self, venue: str) -> int:
        """How many of the venue's entries head office holds in order (its acknowledged `upto`)."""
        return self._scalar(venue, "SELECT upto FROM hq_venue WHERE id = 1")

    def count(self, venue: str) -> dict[str, Any]:
        """Head office's headcount of the venue, folded from its entries."""
        data = self.venue(venue)
        return {k: data.get(k) for k in ("inside", "children", "unaccompanied_children")}

    def rows(self, venue: str) -> list[Row]:
        """(venue sequence, gate, seq) of every entry head office holds of `venue`."""
        db = self._open(venue)
        if db is None:
            return []
        try:
            rows = db.execute("SELECT vseq, gate, seq FROM hq_order ORDER BY vseq").fetchall()
        finally:
            db.close()
        return [(int(v), str(g), int(s)) for v, g, s in rows]

    def _scalar(self, venue: str, query: str) -> int:
        db = self._open(venue)
        if db is None:
            return 0
        try:
            row = db.execute(query).fetchone()
        except sqlite3.OperationalError:  # not made yet
            return 0
        finally:
            db.close()
        return int(row[0] or 0) if row else 0

    def _open(self, venue: str) -> sqlite3.Connection | None:
        path = self.state / "venues" / f"{venue}.db"
        if not path.exists():
            return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        return db

    def wait_caught_up(self, venues: dict[str, Venue], timeout: float) -> bool:
        """Until head office holds every entry each venue's hub holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.entries(v) >= hub_last(events_db(hv)) for v, hv in venues.items()):
                time.sleep(2.0)  # head office refreshes its fold of a venue after storing
                return True
            time.sleep(0.5)
        return False
