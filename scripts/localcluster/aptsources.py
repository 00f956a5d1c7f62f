"""Derive `deb-src` entries from the machine's configured apt sources.

`apt-get source` needs source indexes, which Debian images usually leave disabled. Rather than
naming a mirror, copy each enabled binary entry of the running release (same URIs, suites,
components, keyring) as a `deb-src` entry, so whatever mirror or snapshot the machine is set
up with is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SOURCES_FILE = Path("/etc/apt/sources.list.d/illm-lab-deb-src.sources")


@dataclass(frozen=True)
class Entry:
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None = None


def parse_deb822(text: str) -> list[Entry]:
    """Stanzas of a `.sources` file (comments and disabled stanzas dropped)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in block.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += "\n" + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if not fields.get("types") or fields.get("enabled", "yes").lower() == "no":
            continue
        signed = fields.get("signed-by")
        entries.append(
            Entry(
                types=tuple(fields["types"].split()),
                uris=tuple(fields.get("uris", "").split()),
                suites=tuple(fields.get("suites", "").split()),
                components=tuple(fields.get("components", "").split()),
                signed_by=signed if signed and "\n" not in signed else None,
            )
        )
    return entries


def parse_one_line(text: str) -> list[Entry]:
    """`deb [opts] URI SUITE COMPONENT...` lines of a `.list` file."""
    entries: list[Entry] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        signed_by = None
        match = re.match(r"^(\S+)\s+\[([^\]]*)\]\s+(.*)$", line)
        if match:
            kind, options, rest = match.groups()
            for option in options.split():
                name, _, value = option.partition("=")
                if name == "signed-by":
                    signed_by = value
        else:
            kind, _, rest = line.partition(" ")
        parts = rest.split()
        if kind not in ("deb", "deb-src") or len(parts) < 2:
            continue
        entries.append(Entry((kind,), (parts[0],), (parts[1],), tuple(parts[2:]), signed_by))
    return entries


def configured_entries(root: Path = Path("/etc/apt")) -> list[Entry]:
    entries: list[Entry] = []
    main_list = root / "sources.list"
    if main_list.is_file():
        entries += parse_one_line(main_list.read_text())
    parts = root / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path == SOURCES_FILE or not path.is_file():
                continue
            if path.suffix == ".sources":
                entries += parse_deb822(path.read_text())
            elif path.suffix == ".list":
                entries += parse_one_line(path.read_text())
    return entries


def release_codename(os_release: Path = Path("/etc/os-release")) -> str:
    for line in os_release.read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise ValueError(f"no VERSION_CODENAME in {os_release}")


def _of_release(entry: Entry, codename: str) -> bool:
    return any(s == codename or s.startswith(codename + "-") for s in entry.suites)


def deb_src_stanzas(entries: list[Entry], codename: str) -> str | None:
    """The deb822 text to add, or None when source entries for the release already exist."""
    if any("deb-src" in e.types and _of_release(e, codename) for e in entries):
        return None
    stanzas = []
    for entry in entries:
        if "deb" not in entry.types or not _of_release(entry, codename):
            continue
        lines = [
            "Types: deb-src",
            f"URIs: {' '.join(entry.uris)}",
            f"Suites: {' '.join(entry.suites)}",
            f"Components: {' '.join(entry.components)}",
        ]
        if entry.signed_by:
            lines.append(f"Signed-By: {entry.signed_by}")
        stanzas.append("\n".join(lines))
    if not stanzas:
        raise ValueError(f"no enabled apt entry for release {codename!r} to derive deb-src from")
    header = "# Added by illm-lab scripts/local-cluster (derived from the deb entries)\n"
    return header + "\n\n".join(stanzas) + "\n"
