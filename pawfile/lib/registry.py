"""What each app adds to the features that span apps, declared from its ``AppConfig.ready``.

Shared features (the data export, account and household deletion, the pet page, the landing
and home pages) belong to no domain app. Instead of importing every app, they read this
registry, and every app fills it from its ``AppConfig.ready``::

    class HealthConfig(AppConfig):
        def ready(self) -> None:
            from pawfile.health import contributions

            contributions.register()

An app that is not in ``INSTALLED_APPS`` registers nothing, so nothing of it shows or runs.
The contract of each kind of contribution:

* **Export section** (``register_export_section``): ``rows(user)`` returns an
  ``ExportSection``: top-level keys of ``export.json`` with their values, usually lists of
  plain rows (JSON-ready: str, int, bool, None, dates, decimals), read from ``user``'s
  point of view (only what they may see), and the stored files to copy into the archive.
  Keys must not collide across apps (``export_sections`` raises ``ValueError``). Sections
  appear in registration order, which is ``INSTALLED_APPS`` order.
* **Deletion** (``register_deletion``): one function per thing that can go, ``account(user)``,
  ``household(household)``, ``pets(pets)`` (a queryset). Each runs inside the deleting
  transaction, *before* the row goes: it deletes or detaches the rows of its app that would
  not go by the database's cascade, and returns the names of stored files (in the default
  storage) that must be removed once the transaction commits. It never removes files itself
  (a rollback would leave rows pointing at nothing). An app may call ``deletion_files``
  for a narrower scope (pets does so for a household's pets).
* **Pet panel** (``register_pet_panel``): ``template`` rendered on the pet page with
  ``context(request, pet)`` (keys prefixed with the app's name, so they never shadow the
  page's own) plus ``pet`` and ``request``. ``slot`` is ``"main"`` (a section below the
  profile) or ``"actions"`` (a button among the pet's actions). Panels are drawn by
  ``order``, then registration order. The context function raises ``Http404`` for a user
  who may not see the pet, like any selector. A panel registered ``cacheable=True``
  promises that its HTML depends only on the pet and what hangs on it (its app bumps the
  pet's ``revision`` when that changes), the language, the user's zone and date and what
  the user may do to the pet, and holds nothing of the session (no CSRF token): the pet page
  keeps it in the cache by those (``pets.dashboard``). Two widenings of that promise:
  ``per_user`` (the HTML holds something of the user's own, such as a secret address: the
  page is then kept per user, and the panel's app bumps the revision of the pets the user
  sees when that changes) and ``vary`` (a function of no arguments, cheap and without a
  query, whose text names state outside the database the HTML follows, such as how the
  server is set up; it is part of the cache key). Any other panel is drawn on every
  request.
* **Pet badges** (``register_pet_badges``): ``badges(request, pets)`` returns
  ``{pet id: badge}`` for the pets of the pet list, in one query for all of them; a badge is
  a ``TextChoices`` member (value: CSS suffix, label: the text). Missing or ``"none"`` shows
  nothing.
* **Shell state** (``register_shell_state``): ``state(request)`` returns what the app's part
  of the page shell (``base.html``: the header, the footer) shows for this request, as a
  value whose ``repr`` names it (the notification bell: the unread count). A page whose frame
  is kept drawn (``pawfile.accounts.frame``) keys it on these values with the shell's own, so
  an app that draws into the shell must return here everything that part reads. With
  ``sql`` (a scalar SQL expression, cheap, whose one ``%s`` is the signed-in user's id), the
  session's read (``accounts.sessions``) brings that value in its own statement, and
  ``accounts.sessions.shell_value(request, app)`` gives it to ``state`` on a GET or HEAD
  (``None`` otherwise: ``state`` then reads it itself).
* **Landing and home cards** (``register_landing_card``, ``register_home_card``): ``template``
  rendered with ``context(request)``; a context function that returns ``None`` hides the card
  (a feature switched off, or nothing to offer this user). Cards are drawn by ``order``.

Registering the same ``(app, name)`` again replaces the earlier entry, so ``ready`` may run
twice. Reads return snapshots; nothing here touches the database. ``temporary_registrations``
is for tests: what is registered inside it is gone after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.http import HttpRequest
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

PanelSlot = Literal["main", "actions"]
CardPage = Literal["landing", "home", "home_top"]
Context = Mapping[str, Any]


@dataclass(frozen=True)
class ArchiveFile:
    """A stored file to copy into the export archive, and its name there (under ``files/``)."""

    storage_name: str
    archive_name: str


@dataclass(frozen=True)
class ExportSection:
    """What one app puts in a user's export: top-level keys of ``export.json`` and files."""

    rows: Mapping[str, Any]
    files: Sequence[ArchiveFile] = ()


@dataclass(frozen=True)
class ExportContribution:
    app: str
    rows: Callable[[Any], ExportSection]


@dataclass(frozen=True)
class DeletionContribution:
    app: str
    account: Callable[[Any], Iterable[str]] | None = None
    household: Callable[[Any], Iterable[str]] | None = None
    pets: Callable[[Any], Iterable[str]] | None = None


@dataclass(frozen=True)
class PetPanel:
    app: str
    name: str
    template: str
    context: Callable[[HttpRequest, Any], Context]
    slot: PanelSlot = "main"
    order: int = 100
    cacheable: bool = False
    per_user: bool = False
    vary: Callable[[], str] | None = None


@dataclass(frozen=True)
class PetBadges:
    app: str
    badges: Callable[[HttpRequest, Sequence[Any]], Mapping[int, Any]]


@dataclass(frozen=True)
class Card:
    app: str
    name: str
    page: CardPage
    template: str
    context: Callable[[HttpRequest], Context | None] | None = None
    order: int = 100


@dataclass(frozen=True)
class ShellState:
    app: str
    state: Callable[[HttpRequest], Any]
    sql: str = ""


@dataclass
class _Registry:
    exports: dict[str, ExportContribution] = field(default_factory=dict)
    deletions: dict[str, DeletionContribution] = field(default_factory=dict)
    panels: dict[tuple[str, str], PetPanel] = field(default_factory=dict)
    badges: dict[str, PetBadges] = field(default_factory=dict)
    cards: dict[tuple[str, str, str], Card] = field(default_factory=dict)
    shell: dict[str, ShellState] = field(default_factory=dict)


_registry = _Registry()


# --- Registering (from AppConfig.ready) --------------------------------------------------------


def register_export_section(*, app: str, rows: Callable[[Any], ExportSection]) -> None:
    """``app``'s part of a user's data export (see the module docstring)."""
    _registry.exports[app] = ExportContribution(app=app, rows=rows)


def register_deletion(
    *,
    app: str,
    account: Callable[[Any], Iterable[str]] | None = None,
    household: Callable[[Any], Iterable[str]] | None = None,
    pets: Callable[[Any], Iterable[str]] | None = None,
) -> None:
    """What ``app`` clears when an account, a household or pets are deleted."""
    _registry.deletions[app] = DeletionContribution(
        app=app, account=account, household=household, pets=pets
    )


def register_pet_panel(
    *,
    app: str,
    name: str,
    template: str,
    context: Callable[[HttpRequest, Any], Context],
    slot: PanelSlot = "main",
    order: int = 100,
    cacheable: bool = False,
    per_user: bool = False,
    vary: Callable[[], str] | None = None,
) -> None:
    """A panel ``app`` draws on the pet page (``cacheable``, ``per_user`` and ``vary``: see
    the module docstring; the last two mean nothing without ``cacheable``)."""
    panel = PetPanel(
        app=app, name=name, template=template, context=context, slot=slot, order=order,
        cacheable=cacheable, per_user=per_user, vary=vary,
    )  # fmt: skip
    _registry.panels[(app, name)] = panel


def register_pet_badges(
    *, app: str, badges: Callable[[HttpRequest, Sequence[Any]], Mapping[int, Any]]
) -> None:
    """A status badge ``app`` shows next to each pet of the pet list."""
    _registry.badges[app] = PetBadges(app=app, badges=badges)


def register_shell_state(*, app: str, state: Callable[[HttpRequest], Any], sql: str = "") -> None:
    """What ``app``'s part of the page shell shows for a request, and the SQL the session's
    read may bring it with (see the module docstring)."""
    _registry.shell[app] = ShellState(app=app, state=state, sql=sql)


def register_landing_card(
    *,
    app: str,
    name: str,
    template: str,
    context: Callable[[HttpRequest], Context | None] | None = None,
    order: int = 100,
) -> None:
    """A feature card of the public landing page."""
    card = Card(app=app, name=name, page="landing", template=template, context=context, order=order)
    _registry.cards[("landing", app, name)] = card


def register_home_card(
    *,
    app: str,
    name: str,
    template: str,
    context: Callable[[HttpRequest], Context | None] | None = None,
    order: int = 100,
    top: bool = False,
) -> None:
    """A card of the signed-in home page: a next step (in the list of what to do now), or,
    with ``top``, a section of its own above the households (the user's pets)."""
    page: CardPage = "home_top" if top else "home"
    card = Card(app=app, name=name, page=page, template=template, context=context, order=order)
    _registry.cards[(page, app, name)] = card


# --- Reading (the shared features) -------------------------------------------------------------


def export_sections(*, user: Any) -> tuple[dict[str, Any], list[ArchiveFile]]:
    """Every app's export rows for ``user`` merged in registration order, and all the files.

    Raises ``ValueError`` when two apps claim the same top-level key.
    """
    rows: dict[str, Any] = {}
    files: list[ArchiveFile] = []
    for contribution in list(_registry.exports.values()):
        section = contribution.rows(user)
        clash = set(rows) & set(section.rows)
        if clash:
            raise ValueError(f"export keys claimed twice ({contribution.app}): {sorted(clash)}")
        rows.update(section.rows)
        files += section.files
    return rows, files


def deletion_apps() -> list[str]:
    """The apps that take part in deletions, in registration order."""
    return list(_registry.deletions)


def deletion_files(
    scope: Literal["account", "household", "pets"], target: Any, *, apps: Iterable[str] = ()
) -> list[str]:
    """Ask every app (or only ``apps``) to clear what goes with ``target``; the stored file
    names to delete after commit. Run inside the deleting transaction, before the row goes."""
    wanted = set(apps)
    names: list[str] = []
    for contribution in list(_registry.deletions.values()):
        if wanted and contribution.app not in wanted:
            continue
        clear = getattr(contribution, scope)
        if clear is not None:
            names += [str(name) for name in clear(target) if name]
    return names


def pet_panels(*, slot: PanelSlot) -> list[PetPanel]:
    """The pet page's panels in ``slot``, in order."""
    return sorted(
        (p for p in list(_registry.panels.values()) if p.slot == slot),
        key=lambda p: p.order,  # sorted() is stable: ties keep registration order
    )


def pet_panel_render(
    panel: PetPanel, *, request: HttpRequest, pet: Any, extra: Mapping[str, Any] | None = None
) -> SafeString:
    """The HTML of one panel for ``pet`` as the signed-in user sees it. ``extra`` is added to
    the template's context over everything else (the pet page's cache passes a placeholder
    ``csrf_token``, which it replaces with each request's own)."""
    context: dict[str, Any] = {"pet": pet, "request": request, **panel.context(request, pet)}
    if extra:
        context.update(extra)
    return mark_safe(get_template(panel.template).render(context, request))  # noqa: S308


def pet_panels_render(*, request: HttpRequest, pet: Any, slot: PanelSlot) -> list[SafeString]:
    """The HTML of the pet page's panels in ``slot``, in order."""
    return [pet_panel_render(p, request=request, pet=pet) for p in pet_panels(slot=slot)]


def pet_panels_signature() -> str:
    """A text that changes whenever the set of pet panels changes (for caches of the page)."""
    return "|".join(
        f"{p.app}.{p.name}.{p.slot}.{p.order}.{p.template}.{p.cacheable}.{p.per_user}"
        for p in sorted(list(_registry.panels.values()), key=lambda p: (p.app, p.name))
    )


def pet_panels_vary() -> tuple[bool, str]:
    """For caches of the pet page: whether a cacheable panel is ``per_user``, and the texts
    of the cacheable panels' ``vary`` functions now (called on every request)."""
    panels = [p for p in list(_registry.panels.values()) if p.cacheable]
    texts = [f"{p.app}.{p.name}={p.vary()}" for p in panels if p.vary is not None]
    return any(p.per_user for p in panels), "|".join(texts)


def shell_state(*, request: HttpRequest) -> list[tuple[str, Any]]:
    """``[(app, what its part of the shell shows)]`` for ``request``, in registration order."""
    return [(s.app, s.state(request)) for s in list(_registry.shell.values())]


def shell_sql() -> tuple[tuple[str, str], ...]:
    """``((app, sql), ...)`` of the shell states registered with ``sql``, in registration
    order (for the session's read, ``accounts.sessions``)."""
    return tuple((s.app, s.sql) for s in list(_registry.shell.values()) if s.sql)


def pet_badges(*, request: HttpRequest, pets: Sequence[Any]) -> dict[int, list[Any]]:
    """``{pet id: [badge, ...]}`` from every app that shows badges on the pet list."""
    found: dict[int, list[Any]] = {pet.pk: [] for pet in pets}
    if not pets:
        return found
    for contribution in list(_registry.badges.values()):
        for pet_id, badge in contribution.badges(request, pets).items():
            if badge and badge != "none" and pet_id in found:
                found[pet_id].append(badge)
    return found


def cards_render(*, page: CardPage, request: HttpRequest) -> list[SafeString]:
    """The HTML of ``page``'s cards, in order; a card whose context is ``None`` is left out."""
    cards = sorted(
        (c for c in list(_registry.cards.values()) if c.page == page), key=lambda c: c.order
    )
    html = []
    for card in cards:
        extra = card.context(request) if card.context is not None else {}
        if extra is None:
            continue
        context: dict[str, Any] = {"request": request, **extra}
        html.append(mark_safe(get_template(card.template).render(context, request)))  # noqa: S308
    return html


# --- Tests -------------------------------------------------------------------------------------


@contextmanager
def temporary_registrations() -> Iterator[None]:
    """Whatever is registered inside the block (or replaced, or removed) is undone after it."""
    global _registry
    saved = _registry
    _registry = _Registry(
        exports=dict(saved.exports),
        deletions=dict(saved.deletions),
        panels=dict(saved.panels),
        badges=dict(saved.badges),
        cards=dict(saved.cards),
        shell=dict(saved.shell),
    )
    try:
        yield
    finally:
        _registry = saved


def unregister_app(app: str) -> None:
    """Remove everything ``app`` registered (for tests that pretend an app is not installed;
    use inside ``temporary_registrations``)."""
    _registry.exports.pop(app, None)
    _registry.deletions.pop(app, None)
    _registry.badges.pop(app, None)
    _registry.shell.pop(app, None)
    for panel_key in [k for k in _registry.panels if k[0] == app]:
        del _registry.panels[panel_key]
    for card_key in [k for k in _registry.cards if k[1] == app]:
        del _registry.cards[card_key]
