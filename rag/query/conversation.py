"""Follow-up questions: turn "And what did the US say?" into a question retrieval can answer.

Retrieval and the extractive answerer see one question at a time, so a follow-up that leans
on the conversation ("they", "and what about...") must carry that conversation with it. With
a model, the follow-up is condensed into a standalone question (prompts/condense.txt, with
the as-of date so "this week" keeps its meaning). Without one, a question that reads as a
follow-up is asked together with the question before it: its names and topic then steer both
retrieval and the choice of sentences, while a question on a new topic is asked as it stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rag.sentences import sentence_spans
from rag.types import Answerer

if TYPE_CHECKING:
    from rag.engine import Engine

HISTORY_TURNS = 3  # turns a model sees when condensing: enough to resolve "they" without drowning the question
CARRIED_SENTENCES = 2  # earlier questions a rule-based follow-up carries: the thread, not the whole chat
_LEAD = re.compile(r"^\s*(and|but|so|also|then|what about|how about)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(he|she|they|them|his|her|hers|their|theirs|him|it|its)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange: what was typed, what was actually asked (standalone), the answer's text."""

    question: str
    standalone: str
    answer: str


def reads_as_follow_up(question: str) -> bool:
    """A question that starts like a continuation or refers back with a pronoun."""
    return bool(_LEAD.search(question) or _PRONOUN.search(question))


def history_text(turns: Sequence[Turn], limit: int = HISTORY_TURNS) -> str:
    """The last turns as the condense prompt shows them."""
    return "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in turns[-limit:])


def standalone_question(question: str, turns: Sequence[Turn], as_of: date, answerer: Answerer | str | None,
                        engine: Engine) -> str:
    """The question to retrieve and answer with: condensed by a model when one is chosen or configured."""
    question = question.strip()
    if not turns:
        return question
    chosen = Answerer(answerer or engine.settings.answer.llm)
    model = chosen if chosen.generative else Answerer(engine.settings.answer.llm)
    if model.generative:
        return condense(question, turns, as_of, model, engine)
    if not reads_as_follow_up(question):
        return question
    previous = turns[-1].standalone
    kept = [previous[a:b] for a, b in sentence_spans(previous)][-CARRIED_SENTENCES:]
    return " ".join([*kept, question])


def condense(question: str, turns: Sequence[Turn], as_of: date, model: Answerer, engine: Engine) -> str:
    """The model's standalone rewrite of a follow-up; the follow-up itself if the model replies with nothing."""
    from rag.answer.llm import complete
    from rag.answer.prompts import load_prompt

    system, user = load_prompt("condense").render(history=history_text(turns), question=question,
                                                  as_of=as_of.isoformat())
    reply = complete(engine.generator(model), system, user).strip()
    first_line = reply.splitlines()[0].strip().strip('"') if reply else ""
    return first_line or question
