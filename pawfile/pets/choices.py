"""Choices for pets."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Species(models.TextChoices):
    DOG = "dog", _("Dog")
    CAT = "cat", _("Cat")
    BIRD = "bird", _("Bird")
    RABBIT = "rabbit", _("Rabbit")
    REPTILE = "reptile", _("Reptile")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Size(models.TextChoices):
    UNKNOWN = "", _("Not set")
    TOY = "toy", _("Toy")
    SMALL = "small", _("Small")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")
    GIANT = "giant", _("Giant")


class WeightUnit(models.TextChoices):
    KG = "kg", _("Kilograms")
    LB = "lb", _("Pounds")


class PhotoVariant(models.TextChoices):
    THUMB = "thumb", _("Thumbnail")
    CARD = "card", _("Card")
    FULL = "full", _("Full")


# Longest side in pixels of each stored variant (square crop: both sides).
PHOTO_SIZES = {PhotoVariant.THUMB: 160, PhotoVariant.CARD: 480, PhotoVariant.FULL: 1280}
