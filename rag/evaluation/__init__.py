"""Evaluation on news nobody here wrote: RealTime QA (retrieval and answers) and RGB (faithfulness).

``metrics`` holds the pure scoring functions (unit-tested on hand-made inputs), ``realtimeqa``
and ``rgb`` run the real pipeline over a dataset and return plain dicts (the JSON a run
writes), and ``report`` turns those dicts into Markdown tables and PNG plots.
"""
