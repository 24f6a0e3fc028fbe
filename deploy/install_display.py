"""Installing a wall display (`scripts/install-display`): a machine with a desktop (a Raspberry Pi
with Raspberry Pi OS's desktop, any Debian with one) that shows the hub's live display full screen
from login on, in the venue's language.

    install-display --hub http://HUB:8080 --lang zh-CN [--root DIR]

- Debian packages: `chromium` and `fonts-noto-cjk` (without Chinese fonts the display shows boxes
  in place of characters); installed with apt-get when missing (with `--root`: named in a note,
  for the image's own package list).
- `/etc/xdg/autostart/wristgate-display.desktop`: Chromium in kiosk mode on the hub's page with
  `?lang=`, so the wall shows the language chosen here whatever the machine's own locale; no
  translation prompt, no crash bubble, no first-run page. Desktops that follow the XDG autostart
  specification (Raspberry Pi OS's, LXDE, GNOME, KDE) start it at login.
- the manifest `/etc/wristgate/install-display.manifest`.

Idempotent: run again with the same arguments, it changes nothing.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from deploy.layout import ETC, ROOT_FILE
from deploy.target import Target, UsageError

AUTOSTART = "/etc/xdg/autostart/wristgate-display.desktop"
PACKAGES = ("chromium", "fonts-noto-cjk")
LANGUAGES = ("en", "zh-CN")
KIOSK_FLAGS = (
    "--kiosk",
    "--noerrdialogs",
    "--disable-infobars",
    "--disable-session-crashed-bubble",
    "--disable-features=Translate",
    "--no-first-run",
    "--password-store=basic",
    "--check-for-update-interval=31536000",
)


def display_url(hub: str, language: str) -> str:
    """The hub's page in `language`: `http://hub.local:8080/?lang=zh-CN`."""
    parts = urlsplit(hub.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--hub {hub!r}: give the hub's address, e.g. http://hub.local:8080")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise UsageError(f"--hub {hub!r}: the hub's address alone, with no path or query")
    if any(c in hub for c in "\"'`$\\ \t\n%"):
        raise UsageError(f"--hub {hub!r}: an address has no quotes, spaces or % signs")
    return f"{parts.scheme}://{parts.netloc}/?lang={language}"


def autostart_entry(url: str, language: str) -> str:
    """The XDG autostart entry: the Exec line's URL quoted, as the specification wants for `?`."""
    return "\n".join(
        [
            "# Written by install-display: the venue's wall display, full screen from login on.",
            "[Desktop Entry]",
            "Type=Application",
            "Name=wristgate display",
            "Comment=The venue's live headcount",
            f'Exec=chromium {" ".join(KIOSK_FLAGS)} --lang={language} "{url}"',
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def missing_packages(t: Target) -> list[str]:
    """The display's Debian packages this machine lacks (dpkg's word)."""
    missing = []
    for package in PACKAGES:
        done = t.run("dpkg-query", "-W", "-f=${Status}", package, check=False)
        if done.returncode != 0 or "install ok installed" not in done.stdout:
            missing.append(package)
    return missing


def install_display(args: argparse.Namespace, t: Target) -> None:
    url = display_url(args.hub, args.lang)
    if t.live:
        wanted = missing_packages(t)
        if wanted:
            print(f"  apt-get   {' '.join(wanted)}", file=t.out)
            t.run("apt-get", "install", "-y", "-q", "--no-install-recommends", *wanted)
            t.changes.append("packages: " + " ".join(wanted))
    else:
        t.note(f"the image needs Debian packages {' '.join(PACKAGES)} (apt-get install ...)")
    t.file(AUTOSTART, autostart_entry(url, args.lang).encode(), ROOT_FILE)
    t.note(f"log in to the desktop (or reboot): it opens {url} full screen")
    t.write_manifest(f"{ETC}/install-display.manifest")
