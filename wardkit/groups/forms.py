"""The residential-group form: name, optional cluster (cụm), adult target."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..text import clean_line as _clean


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), filters=[_clean], validators=[
        DataRequired(_l("Enter the group's name, e.g. Tổ dân phố số 7.")),
        Length(max=80, message=_l("A group name has at most 80 characters."))])
    cluster = StringField(_l("Cluster (cụm), if any"), filters=[_clean], validators=[
        Length(max=40, message=_l("A cluster name has at most 40 characters."))])
    target_adults = StringField(_l("Adults (15+) to reach"), filters=[_clean])

    def validate_target_adults(self, field):
        value = (field.data or "0").replace(".", "").replace(",", "")
        if not value.isascii() or not value.isdigit():
            raise ValidationError(_l("Enter a whole number of people, e.g. 850."))
        if int(value) > 100_000:
            raise ValidationError(_l("That is more people than a group can hold."))
        field.data = str(int(value))
