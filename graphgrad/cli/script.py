"""Running the Python file a subcommand is given (``graphgrad draw FILE.py``, ``graphgrad
export FILE.py``) and the errors about what it defines."""
import runpy
import sys
import traceback


class UsageError(Exception):
    """A problem with what the command was given: reported without a traceback, exit 2."""


class ScriptError(Exception):
    """The file raised an exception: reported with its traceback, exit 1."""


def run_script(file, run_name):
    """Run ``file`` as a module named ``run_name`` (its ``if __name__ == "__main__":``
    block is skipped) and return its module-level variables; an exception it raises
    becomes a ScriptError holding its traceback."""
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    try:
        return runpy.run_path(str(file), run_name=run_name)
    except Exception as error:
        raise ScriptError(script_traceback(error, str(file))) from None


def script_traceback(error, filename):
    """``error``'s traceback as Python prints it, from the first frame in ``filename``
    on (the frames of the command and of runpy left out)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def reported(command, file, action, usage=(), failures=()):
    """Run ``action`` and print what it returns; its errors as the exit status: 2 for
    a usage error (``UsageError`` or one of ``usage``), 1 when the file raised or for
    one of ``failures`` (``dot`` missing, …)."""
    try:
        print(action())
    except (UsageError, *usage) as error:
        print(f"graphgrad {command}: {error}", file=sys.stderr)
        return 2
    except ScriptError as error:
        print(f"graphgrad {command}: {file} raised an exception\n{error}", file=sys.stderr,
              end="")
        return 1
    except failures as error:
        print(f"graphgrad {command}: {error}", file=sys.stderr)
        return 1
    return 0
