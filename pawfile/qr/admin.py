"""Django admin for QR codes (read-only: codes change through the QR pages and the API) and
batches of pre-printed tags (QR managers make them here too: the form's count and style go
through ``batches.batch_create``, which makes the codes)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from pawfile.lib.errors import Invalid
from pawfile.qr import access, batches
from pawfile.qr.models import QRBatch, QRCode
from pawfile.qr.style import style_clean


@admin.register(QRCode)
class QRCodeAdmin(admin.ModelAdmin):
    """Read-only list: codes are changed through the QR pages and the API (services)."""

    list_display = (
        "id",
        "title",
        "target_kind",
        "target_url",
        "is_active",
        "scan_count",
        "last_scan_at",
        "batch",
        "claimed_at",
    )
    list_filter = ("is_active", "target_kind")
    search_fields = ("id", "title", "target_url")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BatchAdminForm(forms.ModelForm):
    class Meta:
        model = QRBatch
        fields = (
            "count",
            "note",
            "fg_color",
            "bg_color",
            "module_size",
            "quiet_zone",
            "error_level",
            "frame_text",
        )

    def clean(self) -> dict[str, Any]:
        """The service's checks (count, note, contrast, sizes), shown on the form."""
        data = super().clean() or {}
        count = data.get("count")
        if count is not None and not 1 <= count <= batches.BATCH_MAX:
            self.add_error(
                "count",
                _("Make between 1 and %(max)d tags at once.") % {"max": batches.BATCH_MAX},
            )
        style: dict[str, Any] = {name: data.get(name) for name in batches.STYLE_FIELDS}
        if None not in style.values():
            try:
                style_clean(**style, has_logo=False)
            except Invalid as exc:
                for name, texts in exc.fields.items():
                    for text in texts:
                        self.add_error(name if name in self.fields else None, text)
        return data


@admin.register(QRBatch)
class QRBatchAdmin(admin.ModelAdmin):
    """QR managers see the batches and make new ones; a batch is never changed or deleted
    here (its codes may be on collars already)."""

    form = BatchAdminForm
    list_display = ("id", "count", "note", "created_by", "created_at", "downloads")
    readonly_fields = ("downloads",)

    def _manager(self, request: HttpRequest) -> bool:
        return access.is_manager(request.user) and access.address_allowed(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._manager(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manager(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._manager(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[QRBatch]:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description=_("Downloads"))
    def downloads(self, obj: QRBatch) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("qr_batch_sheet", args=[obj.pk]),
            _("Print sheet (PDF)"),
            reverse("qr_batch_csv", args=[obj.pk]),
            _("CSV"),
        )

    def save_model(self, request: HttpRequest, obj: QRBatch, form: Any, change: bool) -> None:
        """Make the batch and its codes through the service (``obj`` is not saved as is)."""
        values = {name: form.cleaned_data[name] for name in BatchAdminForm.Meta.fields}
        made = batches.batch_create(actor=request.user, **values)
        obj.pk = made.pk
        obj.created_at = made.created_at
