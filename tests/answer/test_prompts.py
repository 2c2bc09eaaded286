"""Prompt files: declared variables checked at load, every variable required at render, shipped files valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.prompts import PROMPTS_DIR, Prompt, PromptError, load_prompt, parse_prompt
from tests import ROOT


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_and_render_system_and_user(tmp_path: Path) -> None:
    write(tmp_path, "p", "# variables: question, as_of\n# a comment\nToday is {as_of}.\n---user---\nQ: {question}\n")
    prompt = load_prompt("p", tmp_path)
    assert prompt == Prompt("p", ("question", "as_of"), "Today is {as_of}.", "Q: {question}")
    system, user = prompt.render(question="Who won?", as_of="2024-05-01")
    assert (system, user) == ("Today is 2024-05-01.", "Q: Who won?")


def test_values_are_inserted_verbatim(tmp_path: Path) -> None:
    """Braces or a marker inside a value (source text is untrusted) are data, never template."""
    write(tmp_path, "p", "# variables: sources\nSystem {{literal}}.\n---user---\n{sources}")
    nasty = "{question} ---user--- {0} }{"
    rendered = load_prompt("p", tmp_path).render(sources=nasty)
    assert rendered.system == "System {literal}."
    assert rendered.user == nasty


def test_without_user_marker_the_whole_body_is_the_user_part(tmp_path: Path) -> None:
    write(tmp_path, "p", "# variables: q\nJust {q}\n")
    assert load_prompt("p", tmp_path).render(q="this") == ("", "Just this")


@pytest.mark.parametrize(
    ("declared", "body", "listed"),
    [
        ("question", "{question} {sources}", "used but not declared: sources; declared but not used: none"),
        ("question, as_of", "{question}", "used but not declared: none; declared but not used: as_of"),
        ("questoin", "{question}", "used but not declared: question; declared but not used: questoin"),
    ],
)
def test_mismatch_refused_at_load_with_names(tmp_path: Path, declared: str, body: str, listed: str) -> None:
    path = write(tmp_path, "bad", f"# variables: {declared}\nSystem.\n---user---\n{body}\n")
    with pytest.raises(PromptError) as err:
        load_prompt("bad", tmp_path)
    assert listed in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no header\n---user---\n{q}", "exactly one '# variables: a, b' line, found 0"),
        ("# variables: q\n# variables: q\n{q}", "found 2"),
        ("# variables: q, q\n{q}", "distinct identifiers"),
        ("# variables: q-x\n{q}", "distinct identifiers"),
        ("# variables: q\n{q!r} {q:>5}", "plain {name}, got {q}, {q}"),
        ("# variables: q\n{} {q.attr}", "plain {name}"),
        ("# variables: q\n{q} {", "bad braces"),
        ("# variables: q\n{q}\n---user---\n{q}\n---user---\nx", "more than one"),
        ("# variables: q\nSystem {q}\n---user---\n\n", "user part"),
    ],
)
def test_malformed_files_refused(text: str, message: str) -> None:
    with pytest.raises(PromptError) as err:
        parse_prompt(text, "t.txt")
    assert message in str(err.value)


def test_missing_and_unknown_variables_refused_at_render(tmp_path: Path) -> None:
    write(tmp_path, "p", "# variables: question, sources, as_of\n{as_of}\n---user---\n{sources}\n{question}")
    prompt = load_prompt("p", tmp_path)
    with pytest.raises(PromptError, match="got missing sources, as_of$"):
        prompt.render(question="q")
    with pytest.raises(PromptError, match="got missing as_of; unknown asof"):
        prompt.render(question="q", sources="s", asof="2024-01-01")


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_prompt("nope", tmp_path)


def test_shipped_prompts_load_and_render() -> None:
    assert PROMPTS_DIR.resolve() == ROOT / "prompts"  # package data, linked to the top-level folder
    answer = load_prompt("answer")
    assert set(answer.variables) == {"question", "sources", "as_of"}
    system, user = answer.render(question="Who refused to meet Sudani?", as_of="2024-01-20",
                                 sources="[1] Reuters | Talks stall | 2024-01-19\nThe envoy refused to meet Sudani.")
    assert '"answer"' in system and '"sources"' in system  # the fields of grounded.answer_schema
    assert "[n]" in system and "instructions" in system
    assert "Who refused to meet Sudani?" in user and "The envoy refused" in user and "2024-01-20" in user
    assert "2024-01-20" not in system, "a dated system part is read again for every day's questions"

    choose = load_prompt("choose")
    assert set(choose.variables) == {"question", "sources", "options", "as_of"}
    system, user = choose.render(question="Who refused?", sources="[1] Reuters | Talks | 2024-01-19\nThe envoy.",
                                 options="A. The envoy\nB. The minister", as_of="2024-01-20")
    assert "letter" in system and user.rstrip().endswith("B. The minister\nAnswer:")
    assert user.index("The envoy.") < user.index("A. The envoy"), "options last, after the cached sources"

    condense = load_prompt("condense")
    assert set(condense.variables) == {"history", "question", "as_of"}
    system, user = condense.render(history="User: What happened at Ain al-Asad?\nAssistant: A rocket attack [1].",
                                   question="and what did the US say?", as_of="2024-01-20")
    assert "standalone" in system and "2024-01-20" in user and "and what did the US say?" in user
    assert all(load_prompt(name).render(**dict.fromkeys(load_prompt(name).variables, "2024-01-20")).system
               == load_prompt(name).render(**dict.fromkeys(load_prompt(name).variables, "2031-05-05")).system
               for name in ("answer", "choose", "condense", "verify")), "every system part is the same every day"


def test_shipped_prompts_are_short() -> None:
    """Small models follow short prompts best, and on CPU every prompt token costs prefill time."""
    for path in PROMPTS_DIR.glob("*.txt"):
        assert len(path.read_text(encoding="utf-8").split()) < 200, path
