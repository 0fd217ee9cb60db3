"""The HTML pages of a grading run (feedback pages, the class report), from Jinja2 templates in
onebyone/tools/templates with autoescaping on: every value from a submission is escaped."""

import functools


@functools.cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("onebyone.tools", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails loudly, not as empty text
        trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: object) -> str:
    return _environment().get_template(name).render(**context)


def warm_up(*names: str) -> None:
    """Compile the templates `names` now (they are kept), before the first page is due."""
    for name in names:
        _environment().get_template(name)
