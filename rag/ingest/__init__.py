"""The ingest stage: takes files, folders, feeds, scraper dumps and URLs; gives the index new passages.

``sources`` reads each kind of input into ``Article``s (or ``Failure``s that say why); ``chunking``
packs an article's sentences into passages measured in the embedder's tokens, each with its exact
span in the article; ``ingest`` hashes and skips what is stored already, embeds the rest and writes
it to the ``Index`` so that a run killed at any point loses nothing and duplicates nothing.
"""
