"""Body templates: named substitution only, every other str.format feature refused up front."""

from __future__ import annotations

import pytest

from smsbridge import Dispatcher, Message, Recipient, TemplateError
from smsbridge.dispatch.template import Template
from smsbridge.testing import FakeProvider


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{name.__class__.__mro__}", "attribute or index access"),
        ("{name.upper}", "attribute or index access"),
        ("{name[0]}", "attribute or index access"),
        ("{name!r}", "conversion"),
        ("{name!s}", "conversion"),
        ("{name:>10}", "format spec"),
        ("{name:{width}}", "format spec"),
        ("{n:d} left", "format spec"),
        ("{}", "positional"),
        ("{0}", "positional"),
        ("Hi {name", "not valid"),
        ("Hi }", "not valid"),
    ],
)
def test_a_template_beyond_named_placeholders_is_a_template_error_at_construction(
    body: str, problem: str
) -> None:
    with pytest.raises(TemplateError, match=problem):
        Template(body)


def test_named_placeholders_and_brace_escapes_render() -> None:
    template = Template("Hi {name}, {{literal}} {first name}!")
    assert template.fields == {"name", "first name"}
    assert template.render({"name": "Ann", "first name": "Bo"}) == "Hi Ann, {literal} Bo!"
    assert Template("Only {{braces}}").static == "Only {braces}"


def test_a_value_is_inserted_as_text_never_formatted_again() -> None:
    template = Template("Hi {name}")
    assert template.render({"name": "{other.__class__} {0:>999999}"}) == (
        "Hi {other.__class__} {0:>999999}")
    assert template.render({"name": 42}) == "Hi 42"


def test_a_missing_variable_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="name"):
        Template("Hi {name}").render({"other": "x"})


@pytest.mark.parametrize(
    ("body", "variables"),
    [
        ("Hi {name.__class__.__mro__}", {"name": "Ann"}),  # Python internals into an SMS
        ("Hi {name:{width}}", {"name": "Ann", "width": "5000000"}),  # a CSV cell sets a width
    ],
)
async def test_the_dispatcher_refuses_such_a_template_before_any_send(
    body: str, variables: dict[str, str]
) -> None:
    fake = FakeProvider()
    with pytest.raises(TemplateError):
        await Dispatcher(fake).send(
            Message(to=[Recipient("+13035550100", variables)], body=body))
    assert fake.calls == 0 and fake.accepted == []
