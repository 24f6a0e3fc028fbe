"""What the gate's unit lets it reach: the venue's LAN, and a broker found elsewhere.

`systemd/gate.service` denies every IP address (`IPAddressDeny=any`) but loopback, link-local
and the private ranges (`LAN_RANGES`), where a venue's broker lives. `install-gate --broker
HOST` on a broker outside them writes a drop-in allowing that broker's addresses too.
"""

from __future__ import annotations

import ipaddress
import socket

GATE_DROPIN = "/etc/systemd/system/wristgate-gate.service.d/broker.conf"
LAN_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def allowed_by_unit(address: Address) -> bool:
    """The unit's own IPAddressAllow= (localhost, link-local, LAN_RANGES) lets `address` in."""
    return (
        address.is_loopback
        or address.is_link_local
        or any(address in net for net in LAN_RANGES if net.version == address.version)
    )


def addresses_of(host: str) -> list[Address]:
    """`host`'s addresses: itself when it is one, else as the resolver says now (none if not)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass  # a name, not an address: the resolver's answer below
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({ipaddress.ip_address(info[4][0]) for info in found}, key=str)


def broker_dropin(host: str) -> tuple[bytes | None, str | None]:
    """The drop-in the gate needs to reach a broker at `host` (None: the unit's ranges do), and
    a note for the installer to print (None: nothing to say)."""
    addresses = addresses_of(host)
    if not addresses:
        return None, (
            f"--broker {host}: the name does not resolve here; the gate's unit lets it reach "
            f"the LAN's private ranges only (add IPAddressAllow= in {GATE_DROPIN} if needed)"
        )
    outside = [a for a in addresses if not allowed_by_unit(a)]
    if not outside:
        return None, None
    lines = "".join(f"IPAddressAllow={a}\n" for a in outside)
    text = f"# install-gate --broker {host}: a broker outside the venue's LAN ranges\n"
    return f"{text}[Service]\n{lines}".encode(), None
