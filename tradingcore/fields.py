"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from tradingcore import crypto
from tradingcore.decimals import MAX_DIGITS, PLACES


def in_choices(field: str, choices: type[models.TextChoices]) -> models.Q:
    """The condition of a check constraint that keeps ``field`` within an enum's values."""
    return models.Q(**{f"{field}__in": [choice.value for choice in choices]})


class MoneyField(models.DecimalField):
    """numeric(20,8): every price, size and amount of money."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class _SecretAttribute(DeferredAttribute):
    """Wraps every value assigned to the attribute in ``crypto.Secret``, so an instance never holds
    the plaintext as ``str``: not after ``create(api_secret=...)`` nor after an assignment."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class EndpointURLField(models.URLField):
    """A URL whose form input without a scheme means https (Django 6's default, adopted now)."""

    def formfield(self, **kwargs: Any) -> Any:
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        return name, "django.db.models.URLField", args, kwargs


class EncryptedTextField(models.TextField):
    """Text encrypted at rest; reads back as ``crypto.Secret``, never as plain ``str``.

    Not editable, so no ModelForm (and so no admin page) ever renders it.
    """

    descriptor_class = _SecretAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> crypto.Secret:
        return crypto.Secret(crypto.decrypt(value or ""))

    def to_python(self, value: Any) -> crypto.Secret:
        if isinstance(value, crypto.Secret):
            return value
        return crypto.Secret(value or "")

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, crypto.Secret):
            value = value.reveal()
        return crypto.encrypt(value or "")

    def value_to_string(self, obj: Any) -> str:
        return crypto.MASK


class RandomClientOrderId(models.Func):
    """Database default for a client order id: 32 random lowercase hex digits (what OKX accepts).

    Lets a row inserted with raw SQL (a seed migration script) get an id the exchanges accept,
    on PostgreSQL and on the embedded SQLite database alike.
    """

    output_field = models.CharField(max_length=32)
    allowed_default = True
    template = "replace(gen_random_uuid()::text, '-', '')"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return "lower(hex(randomblob(16)))", []
