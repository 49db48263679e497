"""Decimals typed with a comma or a point, in English and Spanish (``lib/numbers.py``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.utils import translation

from pawfile.lib.numbers import AmbiguousNumber, DecimalInputField, decimal_parse


@pytest.mark.parametrize(
    ("text", "separator", "value"),
    [
        ("30,0", ".", "30.0"),
        ("30.5", ".", "30.5"),
        ("30,5", ",", "30.5"),
        ("30.5", ",", "30.5"),
        ("0,250", ".", "0.250"),
        ("1.250", ".", "1.250"),  # a point on an English page is the decimal point
        ("1,250", ",", "1.250"),
        ("1,234.5", ",", "1234.5"),  # both: the last one is the decimal separator
        ("1.234,5", ".", "1234.5"),
        ("1.234.567", ".", "1234567"),
        ("1 234,5", ",", "1234.5"),
        ("1\u00a0250", ",", "1250"),
        ("-2,5", ".", "-2.5"),
        (".5", ".", "0.5"),
        ("12", ".", "12"),
    ],
)
def test_one_number_whichever_separator(text: str, separator: str, value: str) -> None:
    assert decimal_parse(text, decimal_separator=separator) == Decimal(value)


@pytest.mark.parametrize(("text", "separator"), [("1,250", "."), ("1.250", ",")])
def test_a_thousands_look_alike_is_ambiguous(text: str, separator: str) -> None:
    with pytest.raises(AmbiguousNumber) as caught:
        decimal_parse(text, decimal_separator=separator)
    assert caught.value.readings == ("1250", f"1{separator}250")


@pytest.mark.parametrize("text", [",", "1,2,3", "abc", "1e5", "12,34.5", "1..2", "--1", "NaN"])
def test_not_a_number(text: str) -> None:
    with pytest.raises(ValueError):
        decimal_parse(text)


class WeightForm(forms.Form):
    weight = DecimalInputField(max_digits=6, decimal_places=3)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("typed", ["30,0", "30.0", "30"])
def test_the_field_takes_both_in_both_languages(language: str, typed: str) -> None:
    with translation.override(language):
        form = WeightForm({"weight": typed})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["weight"] == Decimal(30)


def test_the_field_explains_an_ambiguous_number_and_shows_its_language() -> None:
    with translation.override("en"):
        form = WeightForm({"weight": "1,250"})
        assert not form.is_valid()
        assert "could mean 1250 or 1.250" in form.errors["weight"][0]
        assert 'value="12.5"' in str(WeightForm(initial={"weight": Decimal("12.5")})["weight"])
    with translation.override("es"):
        assert 'value="12,5"' in str(WeightForm(initial={"weight": Decimal("12.5")})["weight"])
        assert 'inputmode="decimal"' in str(WeightForm()["weight"])
        form = WeightForm({"weight": "abc"})
        assert not form.is_valid() and form.errors["weight"]
        assert WeightForm({"weight": "12,3456"}).is_valid() is False  # four decimals: too many
