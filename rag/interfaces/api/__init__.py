"""newsrag as an OpenAI-compatible API (``/v1``), served by the chat UI's process on its Engine."""

from rag.interfaces.api.routes import api_routes

__all__ = ["api_routes"]
