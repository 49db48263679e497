"""Admin for pets, contacts, notes and photos: read-mostly.

People change pet data through the app, where the services validate it (microchip numbers,
sanitised note HTML) and keep stored files in step. The admin is for looking things up;
it never adds rows, and it does not edit pets, notes or photos, whose writes need those
services. Contacts and notes, which own no files, may be deleted here.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from pawfile.accounts.admin import HouseholdAdmin
from pawfile.pets.models import Contact, Note, Pet, Photo


class ReadMostlyAdmin(admin.ModelAdmin):
    """No adding or changing from the admin; rows are viewed (and some deleted)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PetOfHouseholdInline(admin.TabularInline):
    """A household's pets, on the household's admin page."""

    model = Pet
    extra = 0
    fields = ("name", "species", "breed", "microchip", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# accounts sits below pets and cannot name the Pet model: the pets app adds its inline.
HouseholdAdmin.inlines = [*HouseholdAdmin.inlines, PetOfHouseholdInline]


@admin.register(Pet)
class PetAdmin(ReadMostlyAdmin):
    list_display = ("name", "species", "breed", "household", "microchip", "created_at")
    list_filter = ("species",)
    search_fields = ("name", "microchip")
    raw_id_fields = ("household",)
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting a pet must also delete its photo files: the owner does it in the app.
        return False


@admin.register(Contact)
class ContactAdmin(ReadMostlyAdmin):
    list_display = ("name", "relation", "household", "phone", "email", "show_on_public_page")
    list_filter = ("show_on_public_page",)
    search_fields = ("name", "email", "phone", "pets__name", "pets__microchip")
    raw_id_fields = ("household", "pets")


@admin.register(Note)
class NoteAdmin(ReadMostlyAdmin):
    list_display = ("__str__", "pet", "author", "pinned", "updated_at")
    list_filter = ("pinned",)
    search_fields = ("title", "body_text", "pet__name", "pet__microchip")
    raw_id_fields = ("pet", "author")
    readonly_fields = ("body_text",)


@admin.register(Photo)
class PhotoAdmin(ReadMostlyAdmin):
    list_display = ("key", "pet", "is_primary", "width", "height", "bytes_stored", "created_at")
    list_filter = ("is_primary",)
    search_fields = ("pet__name", "pet__microchip", "caption")
    raw_id_fields = ("pet", "uploaded_by")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting a photo must delete its stored variants and pick a new primary photo.
        return False
