"""`newsrag watch`: keep an index current by checking feeds, pages and folders on a schedule."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rag.interfaces.cli.common import chroma_option, settings_from

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.ingest.watchlist import WatchList

EPILOG = """examples:
  newsrag watch https://example.com/feed.xml --every 15m
                            check a feed every 15 minutes; Ctrl-C stops, a restart carries on
  newsrag watch ~/news/inbox --every 1h --prune --index world
                            ingest a folder's changes hourly, dropping files deleted from it
  newsrag watch             carry on watching everything this index watched before
  newsrag watch --list      each watched source: last check, outcome, next check
  newsrag watch --once      check every watched source now, then exit (for cron)
  newsrag watch --remove https://example.com/feed.xml

The list is kept with the index (watch.json in its folder). One watcher runs per index; sources
added while one runs (here, or in the UI of `newsrag serve`) are picked up by it. A feed is
fetched with its ETag and Last-Modified, so an unchanged one costs one request and no parsing. A
source that fails is retried after 2, 4, 8... times its interval (at most 6 hours), the others
keep their schedule."""


def add(sub: argparse._SubParsersAction) -> None:
    """The watch command."""
    w = sub.add_parser("watch", help="check feeds, pages and folders on a schedule and ingest what changed",
                       description="Watch sources and ingest their new and changed articles as they appear.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("sources", nargs="*", metavar="FEED|URL|PATH", help="sources to add to the watched list")
    w.add_argument("--every", default="15m", help="how often to check the sources given: 30s, 15m, 2h, 1d "
                                                  "(default 15m)")
    w.add_argument("--prune", action="store_true", help="remove articles a given source no longer has")
    w.add_argument("--index", help="index name (default: RAG_INDEX or 'default')")
    chroma_option(w)
    w.add_argument("--allow-private-urls", action="store_true",
                   help="allow URLs on loopback or private networks (refused by default)")
    w.add_argument("--once", action="store_true", help="check every watched source once, now, then exit")
    w.add_argument("--list", action="store_true", help="print the watched sources and exit")
    w.add_argument("--remove", nargs="+", metavar="SOURCE", help="stop watching these sources and exit")
    w.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    w.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    """Add, list or remove watched sources, or run the watcher until interrupted."""
    from rag.ingest.watch import watch_key
    from rag.ingest.watchlist import WatchList, parse_every

    settings = settings_from(args)
    watchlist = WatchList(settings.index_dir)
    if args.remove:
        return _remove(watchlist, [watch_key(s) for s in args.remove])
    if args.list:
        return _list(watchlist)
    try:
        every = parse_every(args.every)
    except ValueError as exc:
        print(f"error: --every: {exc}", file=sys.stderr)
        return 2
    missing = [s for s in args.sources if "://" not in s and not Path(s).exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    for source in args.sources:
        watchlist.add(watch_key(source), every, args.prune)
    if not watchlist.load():
        print("error: nothing to watch: name a feed, URL or folder (see newsrag watch --help)", file=sys.stderr)
        return 2
    return _run(settings, args)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the watcher in the foreground; SIGINT and SIGTERM stop it between checks (or mid-ingest, safely)."""
    from rag.engine import Engine
    from rag.ingest.watch import Watcher
    from rag.ingest.watchlist import AlreadyWatched

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    watcher = Watcher(Engine(settings), say=lambda line: print(line, flush=True), progress=not args.quiet)
    try:
        if not args.once:
            print(f"watching {len(watcher.watchlist.load())} sources for index '{watcher.engine.settings.index}'; "
                  "Ctrl-C stops", flush=True)
        watcher.run(stop, once=args.once)
    except AlreadyWatched as exc:
        print(f"note: {exc}; the sources given were added to its list", file=sys.stderr)
        return 0
    return 0 if args.once is False or all(w.ok for w in watcher.watchlist.load().values()) else 1


def _remove(watchlist: WatchList, sources: list[str]) -> int:
    gone = [s for s in sources if watchlist.remove(s)]
    for source in sources:
        print(f"{'stopped watching' if source in gone else 'was not watched:'} {source}")
    return 0 if len(gone) == len(sources) else 1


def _list(watchlist: WatchList) -> int:
    items = watchlist.load().values()
    if not items:
        print("no watched sources (add one: newsrag watch FEED_URL --every 15m)")
    for w in items:
        print(f"{w.source}\n  every {w.every:g}s{', prune' if w.prune else ''}; last check {w.last_check or 'never'}"
              f": {w.outcome or '-'}\n  next check {w.next_run or 'now'}"
              f"{f'; {w.failures} failures in a row' if w.failures else ''}")
    return 0
