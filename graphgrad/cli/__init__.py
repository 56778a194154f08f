"""The ``graphgrad`` command: one subcommand per module in this package."""
import argparse
import sys

from . import demo, draw, export, train, view

COMMANDS = {"demo": demo, "draw": draw, "export": export, "train": train, "view": view}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="graphgrad",
        description="graphgrad: draw, train, export and demo the autodiff engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(sub.add_parser(name, help=module.__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    return COMMANDS[args.command].run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
