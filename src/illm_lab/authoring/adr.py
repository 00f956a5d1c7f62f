"""Architecture decision records: `adrs/NNNN-title-in-kebab-case.md`.

An ADR is a plain markdown file so it reads well on any forge; the little structure `lab` needs
is its heading (`# NNNN. Title`) and a `Status:` line. Numbers are never reused: a new record
takes the highest number in use plus one, so a gap (a number reserved for a record still being
written, or a deleted one) stays a gap. See adrs/0001-record-architecture-decisions.md.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from illm_lab.base.errors import InputError, UsageError
from illm_lab.base.yamlio import read_text

TEMPLATE = "template.md"
STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
MAX_SLUG = 60

_FILE = re.compile(r"^(\d{4})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
_HEADING = re.compile(r"^#\s+(?:ADR[- ]?)?(\d+)[.:]?\s+(.+?)\s*#*\s*$", re.IGNORECASE)
_STATUS_LINE = re.compile(r"^\s*(?:[-*]\s+)?\**status\**\s*:\**\s*(.*?)\s*$", re.IGNORECASE)
_STATUS_SECTION = re.compile(r"^##\s+status\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Adr:
    number: int
    title: str
    status: str
    path: Path

    @property
    def ident(self) -> str:
        return f"{self.number:04d}"


def adrs_dir(override: Path | str | None = None) -> Path:
    """`--adrs-dir` > `./adrs`."""
    return Path(override) if override else Path("adrs")


def discover(root: Path) -> list[Path]:
    """The numbered records under `root`, in number order (the template is not a record).

    Markdown files that look numbered but are not named `NNNN-kebab-case.md` are an error, so a
    typo in a file name cannot silently drop a record from the count.
    """
    if not root.is_dir():
        raise UsageError(f"ADR directory {str(root)!r} not found (pass --adrs-dir)")
    found: list[Path] = []
    for path in root.iterdir():
        if not path.is_file() or path.suffix != ".md" or path.name in (TEMPLATE, "README.md"):
            continue
        if _FILE.match(path.name):
            found.append(path)
        elif path.name[:1].isdigit():
            raise InputError(
                "an ADR file name must be NNNN-title-in-kebab-case.md", where=str(path)
            )
    return sorted(found, key=lambda p: p.name)


def parse(path: Path) -> Adr:
    """Read one record's number, title and status; a record without them is bad input."""
    match = _FILE.match(path.name)
    if not match:
        raise InputError("an ADR file name must be NNNN-title-in-kebab-case.md", where=str(path))
    number = int(match.group(1))
    lines = read_text(path, what="ADR").splitlines()
    title: str | None = None
    status: str | None = None
    in_status_section = False
    for lineno, line in enumerate(lines, start=1):
        if title is None:
            if not line.strip():
                continue
            heading = _HEADING.match(line)
            if not heading:
                raise InputError(
                    f"expected the first line to be the heading '# {number:04d}. Title'",
                    where=f"{path}:{lineno}",
                )
            if int(heading.group(1)) != number:
                raise InputError(
                    f"heading number {heading.group(1)} does not match the file name's {number:04d}",
                    where=f"{path}:{lineno}",
                )
            title = heading.group(2)
            continue
        if in_status_section and line.strip():
            status = line.strip()
        elif _STATUS_SECTION.match(line):
            in_status_section = True
            continue
        elif (found := _STATUS_LINE.match(line)) is not None:
            status = found.group(1)
        if status is not None:
            _check_status(status, f"{path}:{lineno}")
            break
    if title is None:
        raise InputError("no '# NNNN. Title' heading", where=str(path))
    if status is None:
        raise InputError("no 'Status:' line (see adrs/template.md)", where=str(path))
    return Adr(number=number, title=title, status=status, path=path)


def _check_status(status: str, where: str) -> None:
    first = status.split()[0].lower().rstrip(".,") if status.split() else ""
    if first not in STATUSES:
        raise InputError(
            f"status {status[:40]!r}: expected one of {', '.join(STATUSES)}", where=where
        )


def list_all(root: Path) -> list[Adr]:
    return [parse(path) for path in discover(root)]


def slug(title: str) -> str:
    """`Ledger-based teardown (v2)!` -> `ledger-based-teardown-v2`, cut at a word boundary."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > MAX_SLUG:
            break
        out = candidate
    return out or (words[0][:MAX_SLUG] if words else "")


def next_number(root: Path) -> int:
    numbers = [int(p.name[:4]) for p in discover(root)]
    return max(numbers, default=0) + 1


def create(root: Path, title: str, *, today: date | None = None) -> Path:
    """Write the next record from `root/template.md`; return its path."""
    title = " ".join(title.split())
    if not title:
        raise UsageError("an ADR needs a title, e.g. lab adr new \"Use Talos by default\"")
    if len(title) > 120:
        raise UsageError(f"title is {len(title)} characters; keep it under 120")
    name = slug(title)
    if not name:
        raise UsageError(f"title {title[:40]!r} has no letters or digits to name the file with")
    number = next_number(root)
    text = read_text(root / TEMPLATE, what="ADR template")
    if number > 9999:
        raise UsageError("ADR numbers are four digits; 9999 is taken")
    path = root / f"{number:04d}-{name}.md"
    filled = (
        text.replace("__NUMBER__", f"{number:04d}")
        .replace("__TITLE__", title)
        .replace("__DATE__", (today or date.today()).isoformat())
    )
    try:
        # O_EXCL: two `lab adr new` at once must not overwrite each other's record.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"{path} already exists; run the command again") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(filled)
    return path
