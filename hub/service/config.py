"""The hub's configuration, `hub.toml`, read and checked: a field it does not know or a bad value
is a `ConfigError` naming the file and the field.

    [hub]   state_dir, policy, control_socket, allowlist_csv (imported at first start),
            max_seq_jump, gate_budget_mib_per_hour (see hub.ingest.intake), language ("en" or
            "zh-CN": the display's and the alerts' words when a request names no language)
    [mqtt]  host, port, username ("hub"), password_file, prefix, tls_ca, tls
    [http]  bind, port, desk_token_file, staff_token_file, allowed_hosts, workers,
            max_connections, max_streams, header_timeout_s
    [notify] kind ("off", "webhook", "sms", "record"), url, file, timeout_s, retries: how a
            registered guardian is told of their child's entry, exit and being flagged alone
            (hub.service.notify)
    [hq]    venue, url, username, password_file: the chain's head office, through the broker's
            bridge (hub.service.head_office, deploy.hq_bridge); summary_every_s,
            resend_after_s, batch_entries, window_entries. Without it the venue stands alone.
    [gates] the venue's roster: gate id = "entry" | "exit" | "desk" | "handheld"; published
            retained on `{prefix}/hub/roster`. A gate speaks only for itself and its role: the
            hub and the gates refuse what a gate's role cannot journal (gate.core.authority).
            The broker's ACL gives the roster's desks and handhelds the allowlist with phones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gate.config import ConfigError, config_problems, read_toml
from gate.core.authority import GateRole
from gate.i18n import DEFAULT_LANGUAGE, language_of
from gate.link.client import check_transport
from gate.link.protocol import DEFAULT_PREFIX, GATE_ID, MAX_BATCH
from hub.chain.wire import MAX_BATCH_ENTRIES, VENUE_ID
from hub.ingest.refusals import BUDGET_BYTES, MAX_SEQ_JUMP
from hub.service.notify import NotifySection


class _Strict(BaseModel):
    """Unknown fields refused; numbers and flags `strict=True`: `port = true` is no port 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSection(_Strict):
    name: str = "wristgate venue"
    state_dir: Path = Path("/var/lib/wristgate-hub")
    policy: Path = Path("/etc/wristgate/policy.toml")
    control_socket: Path = Path("/run/wristgate-hub/hub.sock")
    allowlist_csv: Path | None = None
    max_seq_jump: int = Field(
        default=MAX_SEQ_JUMP, ge=MAX_BATCH, description="see hub.ingest.intake", strict=True
    )
    gate_budget_mib_per_hour: int = Field(
        default=BUDGET_BYTES >> 20,
        ge=1,
        description="body MiB a gate may send an hour",
        strict=True,
    )
    language: str = Field(default=DEFAULT_LANGUAGE, description='"en" or "zh-CN"')

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str) -> str:
        return language_of(language)  # "zh", "zh_CN" -> "zh-CN"; else the choices


class MqttSection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535, strict=True)
    username: str = "hub"
    password_file: Path | None = None
    prefix: str = DEFAULT_PREFIX
    tls_ca: Path | None = None
    # false: plain MQTT to a broker on another machine, on purpose
    tls: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _safe_transport(self) -> MqttSection:
        check_transport(self.host, self.tls_ca, self.tls)
        return self


class HttpSection(_Strict):
    bind: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535, strict=True)
    desk_token_file: Path | None = None  # lookups, phones masked
    staff_token_file: Path | None = None  # everything, phones shown
    # Host names answered (DNS rebinding); default: the bind address, localhost and this
    # machine's names; IP address literals are always answered (hub.views.web.http).
    allowed_hosts: list[str] | None = None
    workers: int = Field(default=8, ge=1, le=64, strict=True)  # handler threads
    max_connections: int = Field(default=256, ge=1, le=4096, strict=True)
    max_streams: int = Field(default=32, ge=1, le=1024, strict=True)  # open displays
    # per connection, head and body
    header_timeout_s: float = Field(default=10.0, gt=0, le=120, strict=True)


class HqSection(_Strict):
    """The chain's head office (hub.service.head_office; the broker's bridge, deploy.hq_bridge)."""

    venue: str = Field(pattern=VENUE_ID, description="this venue's id in the chain")
    url: str | None = Field(default=None, description="mqtt://host:port[,host:port...]")
    username: str | None = None  # the venue's user at head office (the bridge's)
    password_file: Path | None = None
    summary_every_s: float = Field(default=5.0, gt=0, le=3600)
    resend_after_s: float = Field(default=20.0, gt=0, le=3600)
    batch_entries: int = Field(default=MAX_BATCH_ENTRIES, ge=1, le=MAX_BATCH_ENTRIES, strict=True)
    window_entries: int = Field(default=20_000, ge=1, le=1_000_000, strict=True)


class HubConfig(_Strict):
    hub: HubSection = HubSection()
    mqtt: MqttSection = MqttSection()
    http: HttpSection = HttpSection()
    notify: NotifySection = NotifySection()  # telling guardians (hub.service.notify)
    gates: dict[Annotated[str, Field(pattern=GATE_ID)], GateRole] = {}
    hq: HqSection | None = None  # the chain's head office; none: the venue stands alone


def load_hub_config(path: Path) -> HubConfig:
    try:
        return HubConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError("\n".join(config_problems(exc, str(path), HubConfig))) from exc
