"""Prompts are text files with declared variables, checked when loaded (paper-qa ``check_qa``).

A prompt file starts with a header line ``# variables: question, sources, as_of`` (further
leading ``#`` lines are comments), then the system part, a line ``---user---``, and the user
part. Placeholders are ``{name}``; a literal brace is written ``{{`` or ``}}``. A file whose
placeholders differ from its declared variables is refused at load, so a renamed variable
fails on the first run instead of sending the model a prompt with a hole in it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"  # rag/prompts: package data, linked to prompts/
USER_MARKER = "---user---"
_HEADER = re.compile(r"^#\s*variables\s*:(.*)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PromptError(ValueError):
    """A prompt file or a render call does not match the variables the file declares."""


class Rendered(NamedTuple):
    """A filled-in prompt: unpacks as ``system, user``."""

    system: str
    user: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """A checked template: ``variables`` are exactly the placeholders its two parts use."""

    name: str
    variables: tuple[str, ...]
    system: str
    user: str

    def render(self, **values: object) -> Rendered:
        """Fill every declared variable; a missing or unknown one is an error, never an empty hole."""
        missing = [v for v in self.variables if v not in values]
        unknown = sorted(set(values) - set(self.variables))
        if missing or unknown:
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"unknown {', '.join(unknown)}"] if unknown else []
            raise PromptError(f"prompt {self.name!r} takes variables {', '.join(self.variables)}; "
                              f"render() got {'; '.join(problems)}")
        text = {k: str(v) for k, v in values.items()}
        return Rendered(self.system.format_map(text), self.user.format_map(text))


def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> Prompt:
    """The prompt ``folder/name.txt``, refused if its placeholders and declared variables differ."""
    path = folder / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt {name!r}: {path} does not exist")
    return parse_prompt(path.read_text(encoding="utf-8"), str(path))


def parse_prompt(text: str, name: str) -> Prompt:
    """A Prompt from a file's text; ``name`` is what error messages call it."""
    lines = text.splitlines()
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    declared = _declared(lines[:header], name)
    body = lines[header:]
    if body.count(USER_MARKER) > 1:
        raise PromptError(f"prompt {name}: more than one {USER_MARKER!r} line")
    split = body.index(USER_MARKER) if USER_MARKER in body else -1
    system, user = "\n".join(body[:split]).strip() if split >= 0 else "", "\n".join(body[split + 1:]).strip()
    if not user:
        raise PromptError(f"prompt {name}: the user part (after a {USER_MARKER!r} line) is empty")
    used = _placeholders(system, name) | _placeholders(user, name)
    if used != set(declared):
        raise PromptError(f"prompt {name}: placeholders and declared variables differ: "
                          f"used but not declared: {', '.join(sorted(used - set(declared))) or 'none'}; "
                          f"declared but not used: {', '.join(sorted(set(declared) - used)) or 'none'}")
    return Prompt(Path(name).stem, declared, system, user)


def _declared(header: list[str], name: str) -> tuple[str, ...]:
    matches = [m for line in header if (m := _HEADER.match(line))]
    if len(matches) != 1:
        raise PromptError(f"prompt {name}: the first lines need exactly one '# variables: a, b' line, "
                          f"found {len(matches)}")
    names = tuple(v.strip() for v in matches[0].group(1).split(",") if v.strip())
    bad = [v for v in names if not _NAME.match(v)]
    if bad or len(set(names)) != len(names):
        raise PromptError(f"prompt {name}: declared variables must be distinct identifiers, got {', '.join(names)}")
    return names


def _placeholders(template: str, name: str) -> set[str]:
    """Names of the ``{name}`` fields; anything fancier (``{}``, ``{a.b}``, ``{a!r}``, ``{a:>5}``) is refused."""
    try:
        fields = [(f, conv, spec) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise PromptError(f"prompt {name}: bad braces ({exc}); write a literal brace as '{{{{' or '}}}}'") from exc
    bad = [f"{{{f}}}" for f, conv, spec in fields if not _NAME.match(f) or conv or spec]
    if bad:
        raise PromptError(f"prompt {name}: placeholders must be plain {{name}}, got {', '.join(bad)}")
    return {f for f, _, _ in fields}
