"""Running the Python file a subcommand is given (``graphgrad draw FILE.py``, ``graphgrad
export FILE.py``) and the errors about what it defines."""
import runpy


class UsageError(Exception):
    """A problem with what the command was given: reported without a traceback, exit 2."""


def run_script(file, run_name):
    """Run ``file`` as a module named ``run_name`` (its ``if __name__ == "__main__":``
    block is skipped) and return its module-level variables."""
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    return runpy.run_path(str(file), run_name=run_name)
