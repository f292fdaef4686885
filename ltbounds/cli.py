"""The ``ltbounds`` console script.

Subcommands live one per module in ``ltbounds/commands/``; each module's docstring is its
``--help`` text and it defines ``add_arguments(parser)`` and ``run(args) -> int``. They are imported
only when chosen, so ``ltbounds --help`` stays fast and ``ltbounds`` never imports ``training``
unless the user asks to train.

Errors in the user's input (``InputError``, a missing file, a place that cannot be written: no
permission, a read-only or full file system) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence

from ltbounds import __version__
from ltbounds.checks import InputError

# name -> (module, one-line help). Order is the order shown by ``ltbounds --help``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("ltbounds.commands.demo", "train, evaluate and plot on the embedded default (make demo)"),
    "train": ("ltbounds.commands.train", "train a model with a long-tail loss method, write checkpoints"),
    "evaluate": ("ltbounds.commands.evaluate", "evaluate every bound on checkpoints or exported outputs"),
    "export": ("ltbounds.commands.export", "stream a checkpoint's outputs to an outputs directory, batch by batch"),
    "errata": ("ltbounds.commands.errata", "print the verdict on each printed statement of the seeds"),
    "study": ("ltbounds.commands.study", "run a theory-vs-practice study, writing results/<study>/"),
    "figures": ("ltbounds.commands.figures", "draw the figures of finished studies as PNG and PDF"),
    "certify": ("ltbounds.commands.certify", "balanced-error PAC-Bayes certificates from training data only"),
}

DESCRIPTION = """\
ltbounds: long-tail learning theory, checked on real checkpoints.

  ltbounds train --method vs --dataset mnist5k --out runs/vs   train with a long-tail loss
  ltbounds evaluate runs/vs/last.pt --out reports/vs            bounds vs measured risk
  ltbounds export runs/vs/last.pt --out outputs/vs              large models: outputs to disk, then evaluate them
  ltbounds errata                                               which printed statements hold
  ltbounds study coverage --quick                               theory-vs-practice studies
  ltbounds figures                                              plots of finished studies
  ltbounds demo                                                 all of it on the embedded default

Run 'ltbounds COMMAND --help' for the options of a command."""


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only the ``selected`` subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="ltbounds", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"ltbounds {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if name != selected:
            subparsers.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        subparser = subparsers.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in arguments if not a.startswith("-")), None)
    parser = build_parser(selected if selected in SUBCOMMANDS else None)
    args = parser.parse_args(arguments)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0 if not arguments else 2
    try:
        return int(args.run(args) or 0)
    except (InputError, OSError) as error:
        if not isinstance(error, InputError) and not _user_os_error(error):
            raise
        message = str(error) if isinstance(error, InputError) else _os_message(error)
        print(f"ltbounds {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ltbounds {args.command}: interrupted", file=sys.stderr)
        return 130


# OS errors that come from where the user pointed us (a path, a permission, a full or read-only disk),
# not from a bug: reported in one line. Any other OSError keeps its traceback.
_USER_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EACCES, errno.EPERM, errno.EROFS}
_USER_ERRNOS |= {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.ENAMETOOLONG}


def _user_os_error(error: OSError) -> bool:
    kinds = (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError, PermissionError)
    return isinstance(error, kinds) or error.errno in _USER_ERRNOS


def _os_message(error: OSError) -> str:
    where = f": {error.filename}" if error.filename is not None else ""
    return f"{error.strerror or error}{where}"


if __name__ == "__main__":
    sys.exit(main())
