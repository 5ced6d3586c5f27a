"""The ``corduroy`` command line (``pip install 'corduroy-couch[cli]'``).

``corduroy --help`` lists the commands; docs/cli.md describes them. Every command is
built on the library's own API, so it works wherever the library does.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``corduroy`` console script."""
    try:
        from .app import main as run
    except ImportError as exc:  # click or rich missing
        import sys

        print(
            f"error: the corduroy command needs the 'cli' extra ({exc.name} is missing): "
            "pip install 'corduroy-couch[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    run(argv)
