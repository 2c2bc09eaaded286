"""`newsrag ask` and `newsrag check`: answer a question, or check a given answer's citations."""

from __future__ import annotations

import argparse
import json
from datetime import date

from rag.interfaces.cli.common import DATES, question_options, settings_from


def add(sub: argparse._SubParsersAction) -> None:
    """The ask and check commands."""
    ask = sub.add_parser("ask", help="answer a question from the indexed news, with sources",
                         description="Answer from the index. Every sentence cites its source [n]; sentences the "
                                     "sources do not support are dropped; an answer must give what was asked "
                                     "(a number for 'how many', a name for 'who'); otherwise a clear refusal.",
                         epilog=DATES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("question")
    question_options(ask)
    ask.add_argument("--lenient", action="store_true", help="keep unsupported sentences, marked as such")
    ask.set_defaults(func=cmd_ask)

    chk = sub.add_parser("check", help="check the [n] citations of a given answer against the index",
                         description="Retrieve the sources for --question as `ask` would, then check each "
                                     "sentence of ANSWER against the sources its [n] markers point at. Each "
                                     "sentence is printed with its verdict (supported, UNSUPPORTED with the reason, "
                                     "or CONTESTED by the sources that state it differently), the judge that "
                                     "decided (quote, fast or model) and how sure it was.")
    chk.add_argument("answer", help="answer text with [n] markers")
    chk.add_argument("--question", required=True, help="the question the answer was given to")
    question_options(chk)
    chk.set_defaults(func=cmd_check, lenient=False)


def _ask(args: argparse.Namespace):  # noqa: ANN202 - lazy import of rag.answer.qa
    from rag.answer.qa import Ask

    return Ask(question=args.question, as_of=args.as_of or date.today(), date_from=args.date_from,
               date_to=args.date_to, outlet=args.outlet, answerer=args.llm, lenient=args.lenient)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question from the index, with numbered sources (a refusal is an answer too)."""
    from rag.answer.qa import answer
    from rag.engine import Engine
    from rag.interfaces.render import render_text

    engine = Engine(settings_from(args))
    result = answer(_ask(args), engine)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render_text(result))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a given answer's [n] citations; exit 1 if any sentence is unsupported."""
    from rag.answer.qa import check
    from rag.engine import Engine
    from rag.interfaces.render import render_text

    engine = Engine(settings_from(args))
    result = check(args.answer, _ask(args), engine)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render_text(result, show_support=True))
    return 0 if all(c.supported for c in result.claims) else 1
