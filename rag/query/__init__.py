"""The query stage: takes a question (and the conversation before it); gives the passages to answer from.

``timescope`` reads the days a question asks about ("on 23 October", "this week", "latest");
``retrieve`` searches the ``Index`` by keyword and by vector within those dates and the as-of date,
fuses the two rankings and folds syndicated copies into one source; ``conversation`` turns a
follow-up into a question that stands on its own.
"""
