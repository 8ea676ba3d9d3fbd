"""Household and resident forms. Field names are the column names (docs/ARCHITECTURE.md#data-model).

`ResidentForm.check()` runs the Vietnamese validators and the duplicate checks, so the
same rules hold for the inline add, the edit and the new-household form.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..text import clean_line
from ..vocabulary import GENDER_LABELS, RELATION_LABELS, RESIDENT_BASIS_LABELS, SUPPORT_LABELS
from . import rules



def _choices(labels: dict) -> list:
    return [SelectChoice(k, v) for k, v in labels.items()]


class ResidentForm(FlaskForm):
    full_name = StringField(_l("Full name (as on the ID card)"))
    dob = StringField(_l("Date of birth (dd/mm/yyyy)"))
    gender = RadioField(_l("Sex"), choices=_choices(GENDER_LABELS), validate_choice=False)
    cccd = StringField(_l("CCCD number (12 digits, if available)"))
    is_born_abroad = BooleanField(_l("Born abroad (the number starts with a country code)"))
    phone = StringField(_l("Phone (may be shared in the household)"))
    relation = SelectField(_l("Relation to the head of household"),
                           choices=_choices(RELATION_LABELS), validate_choice=False)
    needs_home_support = BooleanField(_l("Needs support at home"))
    support_reason = SelectField(_l("Reason"), choices=_choices(SUPPORT_LABELS),
                                 validate_choice=False)
    lawful_basis = RadioField(_l("Basis for recording this person's data"),
                              choices=_choices(RESIDENT_BASIS_LABELS), validate_choice=False)
    confirm_warnings = BooleanField(_l("I have checked the warnings above; save anyway"))

    # Filled by check(): values to store, and warnings the officer must confirm.
    cleaned: dict = {}
    warnings: list = []
    duplicate: dict | None = None

    def check(self, db, ward_code: str, *, except_id: str | None = None) -> bool:
        """Validate everything with `rules.check_resident`; return True when the resident
        may be saved now.

        Hard errors go on their field. Warnings block saving until `confirm_warnings` is
        ticked. Afterwards `cleaned`, `warnings` and `duplicate` describe the outcome.
        """
        ok = self.validate()
        raw = {f.name: f.data for f in self}
        raw["support_reason"] = raw.get("support_reason") or None
        result = rules.check_resident(raw, db=db, ward_code=ward_code, except_id=except_id)
        for name, messages in result.errors.items():
            field = self[name]
            field.errors = list(field.errors) + messages
        self.cleaned, self.warnings, self.duplicate = \
            result.cleaned, result.warnings, result.duplicate
        if not (ok and result.ok):
            return False
        return not self.warnings or bool(self.confirm_warnings.data)

    @property
    def needs_confirmation(self) -> bool:
        """Return True when only unconfirmed warnings stand in the way."""
        return bool(self.warnings) and not any(f.errors for f in self)


def _clean(text):
    return clean_line(text) or None


class HouseholdForm(ResidentForm):
    """A new household and its first resident, in one short form."""

    group_id = SelectField(_l("Residential group"), validate_choice=False)
    house_number = StringField(_l("House number"), filters=[_clean], validators=[
        DataRequired(_l("Enter the house number, e.g. 12 or 12A.")),
        Length(max=30, message=_l("A house number has at most 30 characters."))])
    lane = StringField(_l("Lane / alley (ngõ, ngách), if any"), filters=[_clean], validators=[
        Optional(), Length(max=60, message=_l("At most 60 characters."))])
    street = StringField(_l("Street"), filters=[_clean], validators=[
        DataRequired(_l("Enter the street, e.g. Âu Cơ.")),
        Length(max=100, message=_l("At most 100 characters."))])
    notes = TextAreaField(_l("Notes for the next visit (no ID numbers)"), validators=[
        Optional(), Length(max=500, message=_l("At most 500 characters."))])

    def set_groups(self, groups: list[dict]) -> None:
        """Offer the ward's groups in the group list."""
        self.group_id.choices = [SelectChoice("", _l("— choose —"))] + [
            SelectChoice(g["id"], g["name"]) for g in groups]
        self.group_id.validators = [AnyOf([g["id"] for g in groups],
                                          message=_l("Choose the residential group."))]
