"""The pure logic around a model's reply: streaming the answer field, parsing, reading option letters.

The model itself is exercised in test_qa_llm.py; here a scripted generator with a known bias pins
what the rotation of options must cancel, and partial JSON is fed byte by byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date

import pytest

from rag.answer.evidence import Evidence, tokens
from rag.answer.grounded import (
    LETTERS,
    choice_readings,
    chosen_claims,
    letter_shares,
    parse_draft,
    partial_answer,
    pick,
)
from rag.evaluation.realtimeqa import position_bias, sampled
from rag.types import Hit

HIT = Hit("c1", "d1", "Alice won the prize. Bob came second.", "Prize", "Herald", "", None, 0, 37)


@pytest.mark.parametrize("answer", ["Plain words.", 'A "quoted" word and a \\ backslash', "Über café ☕ 😀",
                                    "line\nbreak\ttab"])
def test_partial_answer_streams_every_prefix_without_breaking_characters(answer: str) -> None:
    raw = json.dumps({"answer": answer, "sources": [1]})
    shown = ""
    for end in range(len(raw) + 1):
        text = partial_answer(raw[:end])
        assert text.startswith(shown), (raw[:end], text, shown)  # only ever grows
        assert not any("\ud800" <= ch <= "\udfff" for ch in text), "a lone surrogate was shown"
        shown = text
    assert shown == answer


def test_partial_answer_stops_at_a_bad_escape_instead_of_raising() -> None:
    assert partial_answer('{"answer": "Bob \\q won') == "Bob "


def test_parse_draft_keeps_valid_distinct_source_numbers() -> None:
    draft = parse_draft(json.dumps({"answer": " Alice. ", "sources": [2, 2, 9, 0, True, "1", 1]}), count=3)
    assert (draft.answer, draft.cited) == ("Alice.", [2, 1])
    cut = parse_draft('{"answer": "Alice won the', count=3)
    assert (cut.answer, cut.cited) == ("Alice won the", [])
    assert parse_draft("Alice won.", count=3).cited == []


def test_letter_shares_reads_capital_letters_only() -> None:
    shares = letter_shares({"A": math.log(0.2), " B": math.log(0.2), "a": math.log(0.5), "C.": math.log(0.1)}, 3)
    assert shares == pytest.approx([0.4, 0.4, 0.2])
    assert letter_shares({"The": 0.0}, 4) == [0.25] * 4


class Biased:
    """A model that likes option A whatever it says, and otherwise knows the answer is ``truth``."""

    name = "biased"

    def __init__(self, truth: str) -> None:
        self.truth = truth

    def stream(self, system: str, user: str, schema: dict | None = None) -> Iterator[str]:
        yield ""

    def next_token(self, system: str, user: str) -> dict[str, float]:
        options = {line[0]: line[3:] for line in user.splitlines() if line[:3] in {f"{c}. " for c in LETTERS}}
        return {letter: math.log(0.55 if letter == "A" else 0.3 if text == self.truth else 0.05)
                for letter, text in options.items()}


def test_rotations_cancel_a_bias_for_the_first_option() -> None:
    choices = ("Carol", "Alice", "Bob", "Dan")
    block = Evidence(HIT.text, [HIT], tokens(HIT.text))
    readings = choice_readings(Biased("Alice"), "Who won?", choices, block, date(2024, 1, 1))
    assert len(readings) == 4 and all(sum(r) == pytest.approx(1) for r in readings)
    first_order = max(range(4), key=readings[0].__getitem__)
    assert choices[first_order] == "Carol", "read once, the bias wins"
    assert choices[pick(readings)] == "Alice", "over every rotation, the answer wins"
    records = [{"gold_choice": 1, "choice_readings": readings}]
    bias = position_bias(records)["choice_pick"]
    assert bias["as_asked_accuracy"]["value"] == 0 and bias["rotated_accuracy"]["value"] == 1


class Sure(Biased):
    """A model that gives the answer ``truth`` probability ``share`` wherever it is listed."""

    def __init__(self, truth: str, share: float) -> None:
        super().__init__(truth)
        self.share = share

    def next_token(self, system: str, user: str) -> dict[str, float]:
        options = {line[0]: line[3:] for line in user.splitlines() if line[:3] in {f"{c}. " for c in LETTERS}}
        rest = (1 - self.share) / (len(options) - 1)
        return {letter: math.log(self.share if text == self.truth else rest) for letter, text in options.items()}


@pytest.mark.parametrize(("share", "read"), [(0.9, 2), (0.45, 4)])
def test_two_sure_readings_that_agree_settle_the_pick(share: float, read: int) -> None:
    """Two readings over 0.5 on the same alternative end the rotations; agreeing but unsure ones do not."""
    choices = ("Carol", "Alice", "Bob", "Dan")
    block = Evidence(HIT.text, [HIT], tokens(HIT.text))
    readings = choice_readings(Sure("Alice", share), "Who won?", choices, block, date(2024, 1, 1))
    assert len(readings) == read and choices[pick(readings)] == "Alice"


def test_sample_is_spread_and_stable() -> None:
    items = list(range(329))
    chosen = sampled(items, 120)
    assert len(chosen) == 120 == len(set(chosen)) and chosen[0] == 0 and chosen[-1] > 320
    assert sampled(items, 120) == chosen and sampled(items, None) == items


def test_a_chosen_alternative_cites_a_sentence_naming_it_alone_about_what_was_asked() -> None:
    both = Hit("c1", "d1", "The Grammy record: Beyonce broke it as Adele won pop solo.", "Grammys 2023", "Herald",
               "", date(2023, 2, 6), 0, 58, similarity=0.6)
    alone = Hit("c2", "d2", "Beyonce broke the record for the most Grammy wins ever.", "Grammys", "Courier", "",
                date(2023, 2, 6), 0, 57, similarity=0.5)
    elsewhere = Hit("c3", "d3", "Beyonce toured Europe in 2016.", "Tour", "Post", "", date(2016, 5, 1), 0, 30,
                    similarity=0.4)
    choices = ("Adele", "Beyonce", "Quincy Jones")
    stem = "Which singer broke the record for Grammy wins?"
    answer, quote = chosen_claims(choices, 1, stem, [both, alone])
    assert answer.text == "Beyonce." and answer.supported and quote.citations[0].hit is alone
    (refused,) = chosen_claims(choices, 1, stem, [elsewhere])  # names it, but not about the Grammys
    assert not refused.supported and not refused.citations


def test_a_claim_keeps_citing_the_source_that_states_a_figure_the_best_one_lacks() -> None:
    """The check may find a claim's words in one source and its figure in another: both must stay cited,
    or the answer would show a number its one citation does not hold."""
    from rag.answer.grounded import _best_cited
    from rag.types import Citation, Claim

    words = Hit("c1", "d1", "Gas hit a record price, AAA said.", "Gas", "Herald", "", None, 0, 34)
    figure = Hit("c2", "d2", "The average is $4.96 a gallon.", "Gas", "Courier", "", None, 0, 30)
    unrelated = Hit("c3", "d3", "Rain is expected.", "Weather", "Courier", "", None, 0, 17)
    claim = Claim("Gas hit a record $4.96 a gallon, AAA said.", [
        Citation(1, words, words.text, 0, 34, 0.9), Citation(2, figure, figure.text, 0, 30, 0.0),
        Citation(3, unrelated, unrelated.text, 0, 17, 0.0)], True)
    assert [c.n for c in _best_cited(claim).citations] == [1, 2]
    alone = Claim("Gas hit a record price, AAA said.", claim.citations, True)
    assert [c.n for c in _best_cited(alone).citations] == [1]
