"""A template spec checked by the engine's parser, its problems raised as TemplateRejected."""

from synthesis.spec import TemplateSpecError, parse_template
from synthesis.video_spec import parse_video_template

from ..errors import TemplateRejected


def template_spec_check(*, spec: dict, name: str) -> None:
    """Raise TemplateRejected (with every problem in extra["errors"]) unless the spec is valid."""
    validated_spec(spec, name=name)


def validated_spec(spec: dict, *, name: str):

    spec = {**spec, "name": name}
    try:
        parsed = parse_video_template(spec) if spec.get("kind") == "video" else parse_template(spec)
    except TemplateSpecError as exc:
        raise TemplateRejected(str(exc), extra={"errors": exc.errors}) from exc
    return spec, parsed
