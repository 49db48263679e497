"""How web views show a service's refusal: the one place that does it.

A view runs its service call inside ``service_refusals``::

    with service_refusals(request, form=form) as outcome:
        pet = services.pet_create(actor=user, household=household, **form.service_fields())
    if outcome.ok:
        return redirect("pet_detail", pet_id=pet.pk)
    return render(...)  # the form again, now with the errors (status 400)

- ``Invalid``: with a form, each message goes on its field (above the form when the form
  has no such field); without one, each becomes a ``messages.error``.
- ``Conflict`` and any other ``ServiceError``: above the form, or a ``messages.error``.
- ``NotFound`` and ``Forbidden`` are not caught: Django answers 404 / 403 (they are an
  ``Http404`` / a ``PermissionDenied``).

``rename`` maps a service's field names to the form's (``{"file": "image"}``). Anything
that is not a ``ServiceError`` is not caught either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from pawfile.lib.errors import ALL_FIELDS, Forbidden, Invalid, NotFound, ServiceError


@dataclass
class Outcome:
    """Whether the service call inside ``service_refusals`` went through (``ok``) or was
    refused (``error`` says how, already shown to the person)."""

    error: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def service_refusals(
    request: HttpRequest,
    *,
    form: forms.BaseForm | None = None,
    rename: Mapping[str, str] | None = None,
) -> Iterator[Outcome]:
    """Run the ``with`` body; a ``ServiceError`` it raises (other than ``NotFound`` and
    ``Forbidden``) is shown on ``form`` or as a message (see the module docstring) and ends
    the body, and the yielded ``Outcome`` is then not ``ok``."""
    outcome = Outcome()
    try:
        yield outcome
    except (NotFound, Forbidden):
        raise
    except ServiceError as exc:
        outcome.error = exc
        _show(request, exc, form, rename or {})


def _show(
    request: HttpRequest,
    exc: ServiceError,
    form: forms.BaseForm | None,
    rename: Mapping[str, str],
) -> None:
    fields = exc.fields if isinstance(exc, Invalid) and exc.fields else {ALL_FIELDS: [exc.message]}
    for name, texts in fields.items():
        if form is None:
            for text in texts:
                messages.error(request, text)
            continue
        target = rename.get(name, name)
        form.add_error(target if target in form.fields else None, list(texts))
