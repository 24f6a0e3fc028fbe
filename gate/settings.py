"""`gate.toml` and the hardware profiles it names, validated with pydantic.

A gate's file says who it is (id, role) and where things live; the hardware profile (a TOML file
in `firmware_configs/profiles/`) says what is wired to it: the reader's nfcpy device path, the
scanner's serial settings and the GPIO pins. Sections `[reader]`, `[scanner]` and `[pins]` in
`gate.toml` override the profile field by field. A bad file is refused with every problem it
has, each naming the file, the field, the value and the fix (`ConfigError`, one line each).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gate.config import ConfigError, config_problems, read_toml, unknown_field
from gate.devices.gpio.pins import GatePins
from gate.devices.nfc.originality import NXP_NTAG21X_KEY, OriginalityCheck, parse_public_key
from gate.devices.nfc.udp_ports import port_name
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
_T = TypeVar("_T", bound=BaseModel)


class _Strict(BaseModel):
    """Unknown fields refused; numbers and flags `strict=True`: `port = true` is no port 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReaderSettings(_Strict):
    device: str = Field(description="nfcpy device path: usb, tty:AMA0:pn532, udp:HOST:PORT")
    debounce_s: float = Field(default=1.5, ge=0, le=30, strict=True)
    poll_s: float = Field(
        default=0.02, ge=0, le=1, strict=True, description="pause between two sense cycles"
    )
    fast_read: bool = Field(
        default=True, strict=True, description="read the token with one FAST_READ (NTAG21x)"
    )
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
        kind, _, port = device.rpartition(":")
        if kind.startswith("udp:") and port.isdigit():
            _udp_port_nfcpy_opens(int(port))
        return device


def _udp_port_nfcpy_opens(port: int) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"udp port {port} is not a port (1 to 65535)")
    name = port_name(port)
    if name is not None:
        raise ValueError(
            f"udp port {port} is named {name!r} in /etc/services, and nfcpy's udp driver cannot "
            "open a named port: choose a port that /etc/services does not list"
        )


class ScannerSettings(_Strict):
    port: str = Field(description="serial device, e.g. /dev/wristgate-scanner")
    baudrate: int = Field(default=9600, gt=0, le=4_000_000, strict=True)
    terminator: Literal["CR", "LF", "CRLF"] = "CR"
    max_length: int = Field(default=64, ge=4, le=4096, strict=True)
    strip_aim: bool = Field(default=True, strict=True)

    @property
    def terminator_bytes(self) -> bytes:
        return TERMINATORS[self.terminator]


class PrinterSettings(_Strict):
    device: str = Field(
        description="the exit lane's ESC/POS ticket printer: /dev/usb/lp0, a serial port, a file"
    )


class Profile(_Strict):
    description: str = ""
    reader: ReaderSettings | None = None
    scanner: ScannerSettings | None = None
    printer: PrinterSettings | None = None  # prints vouchers at an exit gate
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
    passage_timeout_s: float = Field(default=8.0, gt=0, le=120, strict=True)
    journal_retention_days: int = Field(default=14, ge=1, le=365, strict=True)
    presence_max_mib: int = Field(
        default=64,
        ge=2,
        le=4096,
        description="the other gates' entries kept here, at most",
        strict=True,
    )
    staff_button_window_s: float = Field(default=20.0, gt=0, le=300, strict=True)
    voucher_valid_min: int = Field(
        default=0,
        ge=0,
        le=24 * 60,
        strict=True,
        description="an exit gate issues a digital voucher at each adult's temporary exit, "
        "valid this many minutes (0: none)",
    )
    clock_max_offset_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        strict=True,
        description="beyond this offset to the hub's clock, the gate decides with the hub's time",
    )
    test_scans_open_pairing: bool = Field(
        default=False,
        strict=True,
        description="a test scan (gatectl, no band on the reader) of an adult lets children "
        "follow: for bench rigs and drills only",
    )
    metrics_bind: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Prometheus", strict=True
    )
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


SECTIONS = ("gate", "link", "reader", "scanner", "pins")

# The Raspberry Pi's 40-pin header: BCM numbers 0 to 27, and the physical pins that carry them.
BCM_PINS = range(28)
BOARD_GPIO = frozenset((3, 5, 7, 8, 10, 11, 12, 13, 15, 16, 18, 19, 21, 22, 23, 24, 26, 27))
BOARD_GPIO |= {28, 29, 31, 32, 33, 35, 36, 37, 38, 40}
PIN_NAME = re.compile(r"^(GPIO|BCM|BOARD|J8:)(\d{1,3})$", re.IGNORECASE)
PIN_RANGE = (
    'use a GPIO of the 40-pin header: 0 to 27 (BCM numbers, like 17 or "GPIO17"), '
    'or "BOARD11" for physical pin 11'
)


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def pin_problems(pins: GatePins, source: str) -> list[str]:
    """Pins the board does not have: a number past 27, a physical pin that is power or ground."""
    problems = []
    for name in sorted(pins.fitted):
        pin = getattr(pins, name)
        if isinstance(pin, int):
            ok = pin in BCM_PINS
        else:
            match = PIN_NAME.match(pin)
            number = int(match.group(2)) if match else -1
            board = match is not None and match.group(1).upper() in ("BOARD", "J8:")
            ok = match is not None and number in (BOARD_GPIO if board else BCM_PINS)
        if not ok:
            problems.append(
                f"{source}: pins.{name}: not a GPIO of the Raspberry Pi (got {pin!r}): {PIN_RANGE}"
            )
    return problems


def load_gate_config(path: Path) -> GateConfig:
    """`gate.toml` at `path` with its profile; `ConfigError` lists every problem, one a line."""
    config, problems = read_gate_config(path)
    if config is None:
        raise ConfigError("\n".join(problems))
    return config


def _validated(model: type[_T], data: object, source: str, problems: list[str]) -> _T | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(config_problems(exc, source, model))
        return None


def read_gate_config(path: Path) -> tuple[GateConfig | None, list[str]]:
    """`gate.toml` and its profile read and checked: the config (None when not usable) and every
    problem found, each naming the file, the field, the value and the fix."""
    data = read_toml(path)  # a file that is no TOML has nothing more to say
    problems: list[str] = []
    overrides: dict[str, Any] = {k: data.pop(k) for k in ("reader", "scanner", "pins") if k in data}
    for extra in sorted(set(data) - {"gate", "link"}):
        problems.append(f"{path}: [{extra}]: {unknown_field(extra, list(SECTIONS), 'section')}")
    raw_gate = data.get("gate", {})
    gate = _validated(GateSettings, raw_gate, f"{path} [gate]", problems)
    profile = (
        gate.profile
        if gate
        else (raw_gate or {}).get("profile")
        if isinstance(raw_gate, dict)
        else None
    )
    hardware = None
    if isinstance(profile, str):
        hardware = _hardware(path, profile, overrides, problems)
    link = None
    if "link" in data:
        link = _validated(LinkSettings, data["link"], f"{path} [link]", problems)
    needs_relay = gate is not None and gate.role in ("entry", "exit")
    if gate is not None and needs_relay and hardware is not None and hardware.pins.relay is None:
        problems.append(
            f"{path}: [gate] role = {gate.role!r}: an {gate.role} gate needs a relay pin in "
            f"its profile: add relay = 17 (its GPIO) to [pins], or choose another profile"
        )
    if problems or gate is None or hardware is None or ("link" in data and link is None):
        return None, problems
    return GateConfig(gate=gate, hardware=hardware, link=link), problems


def _hardware(
    path: Path, profile: str, overrides: dict[str, Any], problems: list[str]
) -> Profile | None:
    profile_file = profile_path(profile, path.parent)
    try:
        profile_data = read_toml(profile_file)
    except ConfigError as exc:
        shipped = ""
        if isinstance(exc.__cause__, FileNotFoundError) and profile_file.parent == PROFILES_DIR:
            shipped = (
                f": the shipped profiles are {', '.join(shipped_profiles())}; "
                "or give the path of a profile .toml"
            )
        problems.append(f"{path} [gate] profile = {profile!r}: {exc}{shipped}")
        return None
    source = f"{profile_file} (+ overrides in {path})"
    found: list[str] = []
    hardware = _validated(Profile, _merge(profile_data, overrides), source, found)
    if hardware is None:  # a pin that is no pin at all: the range too
        problems.extend(
            f"{p}: {PIN_RANGE}" if ": pins." in p and "a pin is" in p else p for p in found
        )
        return None
    found = pin_problems(hardware.pins, source)
    if hardware.reader is None and hardware.scanner is None:
        found.append(
            f"{profile_file}: no [reader] and no [scanner]: the gate could read nothing; "
            "add one (or choose another profile)"
        )
    problems.extend(found)
    return None if found else hardware
