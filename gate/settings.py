"""`gate.toml` and the hardware profiles it names, validated with pydantic.

A gate's file says who it is (id, role) and where things live; the hardware profile (a TOML file
in `firmware_configs/profiles/`) says what is wired to it: the reader's nfcpy device path, the
scanner's serial settings and the GPIO pins. Sections `[reader]`, `[scanner]` and `[pins]` in
`gate.toml` override the profile field by field. A bad file is refused with the file, the field
and the reason (`ConfigError`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gate.config import ConfigError, describe, read_toml
from gate.devices.gpio.pins import GatePins
from gate.devices.nfc.originality import NXP_NTAG21X_KEY, OriginalityCheck, parse_public_key
from gate.link.client import LinkSettings

PROFILES_DIR = Path(__file__).resolve().parent.parent / "firmware_configs" / "profiles"

# nfcpy device paths a gate accepts: usb[:vid[:pid]] | tty:PORT[:driver] | udp[:host[:port]]
NFC_DEVICE = re.compile(
    r"^(usb(:[0-9a-fA-F]{3,4}(:[0-9a-fA-F]{3,4})?)?"
    r"|usb:\d{3}(:\d{3})?"
    r"|tty:[A-Za-z0-9_]+(:[a-z0-9]+)?"
    r"|udp(:[A-Za-z0-9.\-]+)?(:\d{1,5})?)$"
)
TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReaderSettings(_Strict):
    device: str = Field(description="nfcpy device path: usb, tty:AMA0:pn532, udp:HOST:PORT")
    debounce_s: float = Field(default=1.5, ge=0, le=30)
    originality: Literal["require", "check", "off"] = Field(
        default="require", description="NTAG originality signature: refuse, log, or skip"
    )
    originality_key: str = Field(
        default=NXP_NTAG21X_KEY, description="public key, hex 04||X||Y on secp128r1 (NXP's)"
    )

    @field_validator("originality_key")
    @classmethod
    def _key_on_the_curve(cls, key: str) -> str:
        parse_public_key(key)  # raises ValueError with the reason
        return key

    @property
    def originality_check(self) -> OriginalityCheck:
        return OriginalityCheck.of(self.originality, self.originality_key)

    @field_validator("device")
    @classmethod
    def _nfcpy_path(cls, device: str) -> str:
        if not NFC_DEVICE.match(device):
            raise ValueError(
                "not an nfcpy device path (usb, usb:072f:2200, tty:AMA0:pn532, udp:HOST:PORT)"
            )
        return device


class ScannerSettings(_Strict):
    port: str = Field(description="serial device, e.g. /dev/wristgate-scanner")
    baudrate: int = Field(default=9600, gt=0, le=4_000_000)
    terminator: Literal["CR", "LF", "CRLF"] = "CR"
    max_length: int = Field(default=64, ge=4, le=4096)
    strip_aim: bool = True

    @property
    def terminator_bytes(self) -> bytes:
        return TERMINATORS[self.terminator]


class Profile(_Strict):
    description: str = ""
    reader: ReaderSettings | None = None
    scanner: ScannerSettings | None = None
    pins: GatePins = GatePins()  # validated by gate.devices.gpio: pins, polarity, pulls, timings


class GateSettings(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="unique in the venue")
    role: Literal["entry", "exit", "desk", "handheld"]
    profile: str = Field(description="profile name in firmware_configs/profiles, or a path")
    state_dir: Path = Path("/var/lib/wristgate")
    site_key: Path = Path("/etc/wristgate/site.key")
    policy: Path = Path("/etc/wristgate/policy.toml")
    allowlist_csv: Path | None = Field(
        default=None, description="CSV directory imported at start when no snapshot exists"
    )
    control_socket: Path = Path("/run/wristgate/gate.sock")
    passage_timeout_s: float = Field(default=8.0, gt=0, le=120)
    journal_retention_days: int = Field(default=14, ge=1, le=365)
    presence_max_mib: int = Field(
        default=64, ge=2, le=4096, description="the other gates' entries kept here, at most"
    )
    staff_button_window_s: float = Field(default=20.0, gt=0, le=300)
    test_scans_open_pairing: bool = Field(
        default=False,
        description="a test scan (gatectl, no band on the reader) of an adult lets children "
        "follow: for bench rigs and drills only",
    )
    metrics_bind: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="Prometheus")
    language: Literal["en", "zh-CN"] = Field(
        default="en", description="the words of the reasons the gate logs for staff"
    )


class GateConfig(_Strict):
    """Everything `gate run` needs, after the profile and the overrides are merged."""

    gate: GateSettings
    hardware: Profile
    link: LinkSettings | None = None  # no [link]: the gate runs alone, offline by design


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def profile_path(name: str, relative_to: Path) -> Path:
    candidate = Path(name)
    if candidate.suffix == ".toml" or "/" in name:
        return candidate if candidate.is_absolute() else relative_to / candidate
    return PROFILES_DIR / f"{name}.toml"


def load_gate_config(path: Path) -> GateConfig:
    data = read_toml(path)
    overrides = {k: data.pop(k) for k in ("reader", "scanner", "pins") if k in data}
    if set(data) - {"gate", "link"}:
        extra = ", ".join(sorted(set(data) - {"gate", "link"}))
        raise ConfigError(
            f"{path}: unknown sections: {extra} (expected gate, link, reader, scanner, pins)"
        )
    try:
        gate = GateSettings.model_validate(data.get("gate", {}))
    except ValidationError as exc:
        raise ConfigError(describe(exc, f"{path} [gate]")) from exc
    profile_file = profile_path(gate.profile, path.parent)
    try:
        profile_data = read_toml(profile_file)
    except ConfigError as exc:
        raise ConfigError(f"{path} [gate] profile = {gate.profile!r}: {exc}") from exc
    hardware_data = _merge(profile_data, overrides)
    try:
        hardware = Profile.model_validate(hardware_data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, f"{profile_file} (+ overrides in {path})")) from exc
    if gate.role != "handheld" and hardware.pins.relay is None and gate.role != "desk":
        raise ConfigError(f"{path}: an {gate.role} gate needs a relay pin in its profile")
    if hardware.reader is None and hardware.scanner is None:
        raise ConfigError(f"{profile_file}: no reader and no scanner: the gate could read nothing")
    link = None
    if "link" in data:
        try:
            link = LinkSettings.model_validate(data["link"])
        except ValidationError as exc:
            raise ConfigError(describe(exc, f"{path} [link]")) from exc
    return GateConfig(gate=gate, hardware=hardware, link=link)
