import pytest
from django.core.exceptions import ValidationError

from tests import factories


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"allowed_sources": []}, "allowed_sources"),
        ({"allowed_sources": ["staff", "telepathy"]}, "allowed_sources"),
        ({"max_stamps_per_visit": 3, "max_stamps_per_day": 2}, "max_stamps_per_day"),
        ({"background_color": "red"}, "background_color"),
        ({"stamps_goal": 0}, "stamps_goal"),
    ],
)
def test_impossible_programs_are_refused(business, fields, problem):
    program = factories.ProgramFactory.build(business=business, **fields)
    with pytest.raises(ValidationError) as refused:
        program.full_clean()
    assert problem in refused.value.message_dict


def test_a_sensible_program_is_accepted(business):
    factories.ProgramFactory.build(business=business).full_clean()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Tea card"),
        ("stamps_goal", 8),
        ("reward_title", "Free tea"),
        ("background_color", "#000000"),
        ("foreground_color", "#000000"),
        ("label_color", "#000000"),
        ("stamp_icon", "leaf"),
        ("terms", "One per visit."),
    ],
)
def test_every_design_change_moves_the_design_version(program, field, value):
    version = program.design_version
    setattr(program, field, value)
    program.save()
    assert program.design_version == version + 1
    program.refresh_from_db()
    assert program.design_version == version + 1
    program.save()  # nothing changed: the same design
    assert program.design_version == version + 1
    setattr(program, field, getattr(program, field))
    program.save(update_fields=[field])
    assert program.design_version == version + 1


def test_a_rule_change_keeps_the_design_version(program):
    version = program.design_version
    program.cooldown_seconds = 60
    program.max_stamps_per_visit = 2
    program.save()
    program.background_color = "#000000"
    program.save(update_fields=["background_color"])
    program.refresh_from_db()
    assert (program.cooldown_seconds, program.design_version) == (60, version + 1)
