"""Installing the hub (`scripts/install-hub`): its hub.toml with the venue's roster, the API
tokens, the broker (deploy/install_broker.py), the unit, then the broker and the hub started.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping

from deploy.broker import BRIDGE_USER, HA_USER, HUB_USER, LOOPBACK, BrokerError, check_gate_id
from deploy.config_files import Keys, check_config, install_common, install_config, set_keys
from deploy.hq_bridge import HqBridge
from deploy.install_broker import (
    broker_passwords,
    check_broker,
    install_mosquitto,
    installed_listener,
    password_file_users,
    plan_broker_tls,
)
from deploy.layout import (
    BIN,
    BROKER_PORT,
    BROKER_TLS_PORT,
    CONFIG,
    DESK_TOKEN,
    ETC,
    FIRMWARE,
    HUB_SOCKET,
    HUB_STATE,
    HUB_TOML,
    HUB_UNIT,
    PASSWORDS,
    STAFF_TOKEN,
    STATE_DIR,
    VENUE_CA,
    VENUE_CA_KEY,
)
from deploy.target import InstallError, Target, UsageError, ensure_user, secret_token
from deploy.units import check_code_dir, code_dir, start_hub, unit_text
from gate.config import ConfigError
from gate.core.authority import GATE_ROLES
from gate.link.protocol import DEFAULT_PREFIX
from hub.service.config import load_hub_config


def parse_gates(value: str | None) -> tuple[list[str], dict[str, str]]:
    """`--gates E1:entry,X1:exit,H2`: the gate ids (each gets a broker user) and the roles
    given (the venue's roster, `[gates]` of hub.toml). A bare id only gets its user."""
    gates: list[str] = []
    roles: dict[str, str] = {}
    for item in (value or "").split(","):
        gate, _, role = (part.strip() for part in item.partition(":"))
        if not gate:
            continue
        try:
            check_gate_id(gate)
        except BrokerError as exc:
            raise UsageError(f"--gates: {exc}") from None
        if role and role not in GATE_ROLES:
            raise UsageError(f"--gates: {gate}: role {role!r} is none of {', '.join(GATE_ROLES)}")
        if role and roles.get(gate, role) != role:
            raise UsageError(f"--gates: {gate} given two roles")
        if gate not in gates:
            gates.append(gate)
        if role:
            roles[gate] = role
    return gates, roles


def check_roster_covers(
    roster: dict[str, str], given: dict[str, str], users: Iterable[str]
) -> None:
    """Once the venue has a roster, every gate needs a role on it: the hub refuses all entries of
    a gate the roster leaves out (`unknown_gate`). `users`: --gates and the password file's
    users. A venue with no roster yet may add bare gates (the hub warns `no_roster`)."""
    if not roster:
        return
    left_out = sorted({u for u in users if _gate_id(u)} - set(roster))  # hub, display: no
    if left_out:
        example = ",".join(
            [*(f"{g}:{r}" for g, r in given.items()), *(f"{g}:ROLE" for g in left_out)]
        )
        raise UsageError(
            f"--gates: the roster ([gates] of hub.toml) would leave out {', '.join(left_out)}: "
            "the hub would refuse every entry of theirs as unknown_gate. Give each its role "
            f"({', '.join(GATE_ROLES)}): install-hub --gates {example}"
        )


def _gate_id(name: str) -> bool:
    try:
        check_gate_id(name)
    except BrokerError:
        return False
    return True


def render_hub_toml(
    bind_address: str, roster: dict[str, str] | None = None, tls: bool = True
) -> tuple[str, Keys]:
    """hub.toml from the example, and the keys the install decides (`roster`: [gates]). With TLS
    the hub stays on the broker's plain port on 127.0.0.1, which only this machine reaches."""
    host = LOOPBACK if tls or bind_address in ("0.0.0.0", "::") else bind_address
    wanted: Keys = {
        "hub": {"control_socket": HUB_SOCKET},
        "mqtt": {
            "host": host,
            "port": BROKER_PORT,
            "username": HUB_USER,
            "password_file": f"{PASSWORDS}/{HUB_USER}.password",
        },
        "http": {"desk_token_file": DESK_TOKEN, "staff_token_file": STAFF_TOKEN},
    }
    if roster:
        wanted["gates"] = dict(sorted(roster.items()))
    return set_keys((FIRMWARE / "hub.toml.example").read_text(), wanted), wanted


def install_hub(args: argparse.Namespace, t: Target) -> None:
    gates, roles = parse_gates(args.gates)
    roster = {**_installed_roster(t), **roles}  # roles given again replace those in place
    check_roster_covers(roster, roles, [*gates, *password_file_users(t)])
    bind = args.bind_address or installed_listener(t) or LOOPBACK
    tls_wanted = not args.plain_mqtt
    if args.plain_mqtt and (args.ca_cert or args.ca_key or args.broker_cert or args.broker_key):
        raise UsageError("--plain-mqtt and certificates: say one or the other")
    check_broker(t, bind)
    rendered, wanted = render_hub_toml(bind, roster, tls_wanted)
    check_config(rendered, load_hub_config, "hub.toml")
    tls_made = plan_broker_tls(t, args, bind) if tls_wanted else None
    bridge = _hq_bridge(t)  # hub.toml's [hq] checked before anything is written
    code = code_dir(args.code_dir, t)
    check_code_dir(t, code, "hub")

    ensure_user(t, ())
    install_common(t)
    t.directory(HUB_STATE, STATE_DIR)
    t.secret(DESK_TOKEN, secret_token)
    t.secret(STAFF_TOKEN, secret_token)
    install_config(t, HUB_TOML, rendered, wanted)
    _add_roster(t, roster)
    prefix = _effective_prefix(t)

    credentials = broker_passwords(t, gates)
    if bridge is not None:
        bridge = _hq_bridge(t, t.secret(f"{PASSWORDS}/{BRIDGE_USER}.password", secret_token))
    tls = install_mosquitto(t, tls_made, bind, prefix, roster, credentials, bridge)

    t.file(HUB_UNIT, unit_text("hub.service", code))
    t.symlink(f"{BIN}/hub", f"{code}/.venv/bin/hub")
    if bind == LOOPBACK:
        t.note(
            "the broker listens on 127.0.0.1 only: gates cannot reach it. Run again with "
            "--bind-address <the hub's address on the gate network>"
        )
    if tls is None and bind != LOOPBACK:
        t.note(
            f"plain MQTT on {bind} (--plain-mqtt): gate passwords cross the gate network in "
            "clear text; keep that network isolated"
        )
    t.write_manifest(f"{ETC}/install-hub.manifest")
    if t.systemd:
        start_hub(t)
    print(
        f"{t.prog}: each gate's broker password is in {PASSWORDS}/<gate id>.password: "
        f"give it to the gate with install-gate --broker-password FILE",
        file=t.out,
    )
    print(
        f"{t.prog}: Home Assistant logs in to the broker as {HA_USER} with "
        f"{PASSWORDS}/{HA_USER}.password (reads the discovery, the headcount, the statuses)",
        file=t.out,
    )
    if tls is not None:
        print(
            f"{t.prog}: gates connect with TLS to port {BROKER_TLS_PORT}: give each the venue CA, "
            f"{VENUE_CA}, with install-gate --ca FILE (never {VENUE_CA_KEY})",
            file=t.out,
        )


def _add_roster(t: Target, roster: Mapping[str, str]) -> None:
    """The roles of `--gates` added to the `[gates]` roster of the hub.toml in place (the
    operator's other lines kept): the ACL is written from it, this time and the next."""
    text = (t.read(HUB_TOML) or b"").decode()
    if roster and _installed_roster(t) != roster:
        t.file(HUB_TOML, set_keys(text, {"gates": dict(roster)}).encode(), CONFIG)


def _installed_roster(t: Target) -> dict[str, str]:
    """The `[gates]` roster of the hub.toml in place (kept when more gates are added)."""
    try:
        return dict(load_hub_config(t.at(HUB_TOML)).gates)
    except (ConfigError, OSError):
        return {}


def _hq_bridge(t: Target, local_password: str | None = None) -> HqBridge | None:
    """The bridge to the chain's head office, from the [hq] of the hub.toml in place (the
    operator adds it; see firmware_configs/hub.toml.example); None without one. Without
    `local_password` it only checks (nothing written); with it, the bridge, its local user's
    password generated once beside the others."""
    try:
        hq = load_hub_config(t.at(HUB_TOML)).hq
    except (ConfigError, OSError):
        return None
    if hq is None:
        return None
    missing = [k for k in ("url", "username", "password_file") if getattr(hq, k) is None]
    if missing:
        raise UsageError(f"hub.toml [hq]: the broker's bridge needs {', '.join(missing)}")
    assert hq.url is not None and hq.username is not None and hq.password_file is not None
    given = t.read(str(hq.password_file))
    if not given or not given.strip():
        raise InstallError(
            f"hub.toml [hq] password_file {hq.password_file}: missing or empty "
            "(the venue's password at head office)"
        )
    local = local_password or secret_token()
    try:
        return HqBridge.of(
            venue=hq.venue,
            url=hq.url,
            username=hq.username,
            password=given.decode(errors="replace").strip(),
            local_password=local,
        )
    except BrokerError as exc:
        raise UsageError(str(exc)) from None


def _effective_prefix(t: Target) -> str:
    """The topic prefix of the hub.toml in place (an operator may have set another)."""
    try:
        return load_hub_config(t.at(HUB_TOML)).mqtt.prefix
    except (ConfigError, OSError):
        return DEFAULT_PREFIX
