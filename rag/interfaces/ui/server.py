"""Start the chat UI safely: loopback by default, credentials or an explicit --open elsewhere.

Gradio's analytics and version check are off, the theme uses the system's fonts (no font
service), and uploads land in a cache under the index root, from where an accepted file is
moved into its index's own folder.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping

from rag.config import Settings, UISettings

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, no version check

USER_ENV = "RAG_UI_USERNAME"
PASSWORD_ENV = "RAG_UI_PASSWORD"
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


class UnsafeBind(ValueError):
    """Serving beyond this machine was asked for without credentials or --open."""


def credentials(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Username and password, when both are set: from ``env`` when given, else the settings' (RAG_UI_*)."""
    if env is None:
        return UISettings().credentials
    return UISettings(username=env.get(USER_ENV) or None, password=env.get(PASSWORD_ENV) or None).credentials


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, open_: bool, auth: tuple[str, str] | None) -> None:
    """Refuse to expose the app beyond loopback unless it has credentials or is meant to be open."""
    if is_loopback(host) or auth or open_:
        return
    raise UnsafeBind(f"refusing to serve on {host} without credentials: anyone who can reach it could read and "
                     f"change the index. Set {USER_ENV} and {PASSWORD_ENV}, or pass --open if it is meant to be "
                     "open, or use --host 127.0.0.1.")


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, open_: bool = False,
           concurrency: int = 4, block: bool = True, quiet: bool = False):  # noqa: ANN201 - gradio's Blocks
    """Build and start the app; returns the running Blocks (``block=False``) once it answers."""
    auth = settings.ui.credentials
    check_bind(host, open_, auth)
    uploads = (settings.index_root / ".uploads").resolve()
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read when the server starts: uploads stay under the index root

    import gradio as gr

    from rag.interfaces.ui.app import build_app
    from rag.interfaces.ui.render import CSS

    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    from rag.engine import Engine

    demo = build_app(Engine(settings))
    demo.queue(default_concurrency_limit=concurrency)
    from rag.index import StoreError, index_exists

    try:
        missing = not index_exists(settings)
    except StoreError as exc:  # a Chroma server that is not up yet: say so, the UI names it on each question
        print(f"note: {exc}", file=sys.stderr)
        missing = False
    if not quiet and missing:
        print(f"note: index '{settings.index}' does not exist yet: add news in the UI's 'Add news' tab or run "
              f"`newsrag ingest seeds/ --index {settings.index}`", file=sys.stderr)
    demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, show_error=True,
                quiet=quiet, share=False, inbrowser=False, max_file_size=int(settings.ingest.max_file_mb * 1_000_000),
                footer_links=["api"], run_history=False, pwa=False, mcp_server=False, ssr_mode=False,
                enable_monitoring=False, theme=theme, css=CSS)
    return demo
