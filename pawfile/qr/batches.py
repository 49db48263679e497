"""Pre-printed tags: batches of unclaimed codes, their print sheet and their list of ids.

A QR manager (``access.manager_check``) makes a ``QRBatch`` of ``count`` codes in one style
(``batch_create``): every code is ``unclaimed`` (no household, no owner), so the redirect
sends it to its claim page ``/t/{id}`` until a pet's household claims it (``claim``). The
codes are written with one ``bulk_create`` (1,000 codes: one statement of the ids, one
insert). ``batch_sheet_pdf`` lays the codes out on A4 pages (a grid with cut marks, each id
printed small under its code) through the Typst pipeline of ``images.code_pdf``;
``batch_csv`` lists the ids with the address each code encodes, for a print shop that draws
the codes itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Literal

import typst
import zxingcpp
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from pawfile.lib.errors import Invalid, NotFound
from pawfile.lib.text import plain_line
from pawfile.qr import access
from pawfile.qr.choices import ErrorLevel, TargetKind
from pawfile.qr.generation import generation_bump
from pawfile.qr.ids import code_id_new
from pawfile.qr.images import _fonts, scan_url
from pawfile.qr.models import QRBatch, QRCode
from pawfile.qr.style import style_clean

BATCH_MAX = 2000
NOTE_MAX = 200
STYLE_FIELDS = ("fg_color", "bg_color", "module_size", "quiet_zone", "error_level", "frame_text")
SHEET_TEMPLATE = Path(__file__).resolve().parent / "typst" / "batch_sheet.typ"


def _fresh_ids(count: int) -> list[str]:
    """``count`` distinct ids none of which is taken yet (checked in one query)."""
    ids: set[str] = set()
    while len(ids) < count:
        ids.update(code_id_new() for _ in range(count - len(ids)))
        taken = set(QRCode.objects.filter(pk__in=ids).values_list("pk", flat=True))
        ids -= taken
    return sorted(ids)


def batch_create(
    *,
    actor: Any,
    count: int,
    note: str = "",
    fg_color: str = "#000000",
    bg_color: str = "#ffffff",
    module_size: int = 10,
    quiet_zone: int = 4,
    error_level: str = ErrorLevel.M,
    frame_text: str = "",
) -> QRBatch:
    """A batch of ``count`` (1 to ``BATCH_MAX``) unclaimed codes in one style, made by
    ``actor`` (a QR manager: ``Forbidden`` otherwise). ``Invalid`` for a bad count, note or
    style."""
    access.manager_check(actor, collection=True)
    if not isinstance(count, int) or not 1 <= count <= BATCH_MAX:
        raise Invalid(
            _("Make between 1 and %(max)d tags at once.") % {"max": BATCH_MAX}, field="count"
        )
    note = plain_line(note.strip(), field="note")
    if len(note) > NOTE_MAX:
        raise Invalid(_("At most %(max)d characters.") % {"max": NOTE_MAX}, field="note")
    style = style_clean(
        fg_color=fg_color,
        bg_color=bg_color,
        module_size=module_size,
        quiet_zone=quiet_zone,
        error_level=error_level,
        frame_text=frame_text,
        has_logo=False,
    )
    values = {name: getattr(style, name) for name in STYLE_FIELDS}
    title = _("Pre-printed tag")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                batch = QRBatch.objects.create(count=count, note=note, created_by=actor, **values)
                QRCode.objects.bulk_create(
                    [
                        QRCode(
                            id=code_id,
                            title=title,
                            target_kind=TargetKind.UNCLAIMED,
                            batch=batch,
                            **values,
                        )
                        for code_id in _fresh_ids(count)
                    ],
                    batch_size=500,
                )
                generation_bump()
            return batch
        except IntegrityError:  # an id taken between the check and the insert: draw again
            continue
    raise RuntimeError("no free QR code ids for the batch after three tries")


def batch_list(*, user: Any) -> QuerySet[QRBatch]:
    """Every batch, newest first, with ``claimed`` (how many of its codes were claimed).
    ``Forbidden`` for a non-manager."""
    access.manager_check(user, collection=True)
    return QRBatch.objects.annotate(
        claimed=Count("codes", filter=Q(codes__claimed_at__isnull=False))
    ).order_by("-created_at", "-id")


def batch_get(*, user: Any, batch_id: int) -> QRBatch:
    """One batch with ``claimed``; ``NotFound`` for a non-manager or an unknown id."""
    access.manager_check(user)
    batch = batch_list(user=user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No such batch."))
    return batch


def batch_codes(batch: QRBatch) -> QuerySet[QRCode]:
    """The batch's codes, in id order (the order of the sheet and the CSV)."""
    return QRCode.objects.filter(batch=batch).order_by("id")


def batch_csv(batch: QRBatch) -> str:
    """``id,scan_url,claimed_at`` per code: ``scan_url`` is what the printed code encodes
    (with the genuine-scan marker)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "scan_url", "claimed_at"])
    for code in batch_codes(batch):
        claimed = code.claimed_at.isoformat() if code.claimed_at else ""
        writer.writerow([code.id, scan_url(code, printed=True), claimed])
    return out.getvalue()


def batch_sheet_pdf(batch: QRBatch) -> bytes:
    """A4 pages of the batch's codes, a grid of 4 × 5 with cut marks at every corner and
    each id under its code. Raises ``typst.TypstError`` if the template fails.

    The codes are encoded by zxing-cpp (``_sheet_svg``); the view keeps the PDF in the
    cache a day."""
    pdf = _sheet(batch, "pdf")
    assert isinstance(pdf, bytes)
    return pdf


def batch_sheet_png(batch: QRBatch, *, ppi: int = 150) -> list[bytes]:
    """The sheet's pages as PNG images (what a printer would print; the tests decode them)."""
    pages = _sheet(batch, "png", ppi=ppi)
    return pages if isinstance(pages, list) else [pages]


def _sheet_svg(code: QRCode) -> bytes:
    """The code for the sheet: the same address and style as ``images.code_svg`` (the frame
    text is set by Typst under it), its modules laid out by zxing-cpp's encoder, which
    does in C++ (about 0.5 ms) what segno does in Python (5–25 ms a code here: a sheet of
    1,000 tags took 18 s with segno, 1.2 s with zxing-cpp, on the same loaded machine)."""
    symbol = zxingcpp.create_barcode(
        scan_url(code, printed=True), zxingcpp.BarcodeFormat.QRCode, ec_level=code.error_level
    )
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    rows, cols = image.shape
    cells = bytes(memoryview(image))  # type: ignore[arg-type]  # a buffer; 0 dark, 255 light
    border = code.quiet_zone
    runs = []
    for y in range(rows):
        line = cells[y * cols : (y + 1) * cols]
        x = 0
        while x < cols:
            if line[x] == 0:
                start = x
                while x < cols and line[x] == 0:
                    x += 1
                runs.append(f"M{start + border} {y + border}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    side = cols + 2 * border
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'shape-rendering="crispEdges"><rect width="{side}" height="{side}" '
        f'fill="{code.bg_color}"/><path fill="{code.fg_color}" d="{"".join(runs)}"/></svg>'
    ).encode()


def _sheet(batch: QRBatch, fmt: Literal["pdf", "png"], *, ppi: int = 144) -> Any:
    codes = list(batch_codes(batch))
    with tempfile.TemporaryDirectory(prefix="pawfile-qr-batch-") as folder:
        root = Path(folder)
        main = root / SHEET_TEMPLATE.name
        main.write_bytes(SHEET_TEMPLATE.read_bytes())
        for code in codes:
            (root / f"{code.id}.svg").write_bytes(_sheet_svg(code))
        data = {
            "title": _("Tag batch %(number)d") % {"number": batch.pk},
            "codes": [code.id for code in codes],
            "frame": batch.frame_text,
            "colour": batch.fg_color,
        }
        return typst.compile(
            main,
            root=root,
            font_paths=_fonts(),
            ignore_system_fonts=True,
            format=fmt,
            ppi=ppi,
            sys_inputs={"data": json.dumps(data)},
            timestamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
