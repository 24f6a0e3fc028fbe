"""Head office's configuration, `hq.toml`, read and checked: a field it does not know or a bad
value is a `ConfigError` naming the file and the field.

    [hq]    state_dir (one SQLite file per venue under venues/), language ("en" or "zh-CN"),
            stale_after_s (a venue not heard for longer is shown stale), timezone (the
            sheets' days for a venue whose hub has not said its own)
    [nats]  servers (every node's nats:// URL), user, password_file, replicas (the stream's:
            3 on a cluster, 1 on one server), max_age_days (what a venue cut off longer must
            have sent again by its hub), ack_every_s (each venue's acknowledgement said again),
            mqtt (every node's MQTT host:port: acknowledgements also kept retained there)
    [http]  bind, port, allowed_hosts, workers
    [[token]] name, secret ("sha256:" and the hex digest of the token: `hq token` makes one),
            venues (["*"]: every venue; else the venue ids it may see)

    [[token]]
    name = "Beijing area manager"
    secret = "sha256:9f86d08188..."
    venues = ["BJ1", "BJ2"]
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gate.config import ConfigError, config_problems, read_toml
from gate.i18n import DEFAULT_LANGUAGE, language_of
from hub.chain.wire import VENUE_ID

SECRET = re.compile(r"^sha256:[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HqSection(_Strict):
    state_dir: Path = Path("/var/lib/wristgate-hq")
    language: str = Field(default=DEFAULT_LANGUAGE, description='"en" or "zh-CN"')
    stale_after_s: float = Field(default=30.0, gt=0, le=86400, strict=True)
    timezone: str = "Asia/Shanghai"

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str) -> str:
        return language_of(language)


class NatsSection(_Strict):
    servers: list[str] = Field(default=["nats://127.0.0.1:4222"], min_length=1)
    user: str | None = "hq"
    password_file: Path | None = None
    replicas: int = Field(default=3, ge=1, le=5, strict=True)
    max_age_days: float = Field(default=7, gt=0, le=365)
    ack_every_s: float = Field(default=5.0, gt=0, le=3600)
    mqtt: list[str] = Field(default=[], description="every node's MQTT host:port")

    @field_validator("mqtt")
    @classmethod
    def _host_ports(cls, mqtt: list[str]) -> list[str]:
        for address in mqtt:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address[:80]!r} is not host:port")
        return mqtt

    def mqtt_addresses(self) -> list[tuple[str, int]]:
        return [(a.rpartition(":")[0], int(a.rpartition(":")[2])) for a in self.mqtt]

    @field_validator("servers")
    @classmethod
    def _nats_urls(cls, servers: list[str]) -> list[str]:
        for url in servers:
            if not re.fullmatch(r"(nats|tls)://[^\s/]+:\d{1,5}", url):
                raise ValueError(f"{url[:80]!r} is not nats://host:port")
        return servers


class HttpSection(_Strict):
    bind: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535, strict=True)
    allowed_hosts: list[str] | None = None
    workers: int = Field(default=8, ge=1, le=64, strict=True)


class TokenEntry(_Strict):
    name: str = Field(min_length=1, max_length=80)
    secret: str = Field(description='"sha256:" and 64 hex digits (`hq token`)')
    venues: list[str] = Field(min_length=1)

    @field_validator("secret")
    @classmethod
    def _hashed(cls, secret: str) -> str:
        if not SECRET.fullmatch(secret):
            raise ValueError('a token\'s secret is "sha256:" and 64 hex digits: run `hq token`')
        return secret

    @field_validator("venues")
    @classmethod
    def _venues(cls, venues: list[str]) -> list[str]:
        for venue in venues:
            if venue != "*" and not re.fullmatch(VENUE_ID, venue):
                raise ValueError(f'{venue[:40]!r} is neither "*" nor a venue id')
        return venues


class HqConfig(_Strict):
    hq: HqSection = HqSection()
    nats: NatsSection = NatsSection()
    http: HttpSection = HttpSection()
    token: list[TokenEntry] = []

    def nats_password(self) -> str | None:
        path = self.nats.password_file
        return path.read_text().strip() if path is not None else None


def load_hq_config(path: Path) -> HqConfig:
    try:
        return HqConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError("\n".join(config_problems(exc, str(path), HqConfig))) from exc
