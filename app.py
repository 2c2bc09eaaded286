"""`python app.py [--host H] [--port P] [--index NAME] [--open]`: the chat UI, same as `newsrag serve`."""

import sys

from rag.interfaces.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
