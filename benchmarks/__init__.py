"""Benchmarks run by hand (``python -m benchmarks``), never as timed tests.

Importing the package pins BLAS to one thread before numpy is imported (see
``blas.py``): ``python -m benchmarks`` and ``python -m benchmarks.<suite>`` import
it first, and so does every interpreter that ``python -m benchmarks`` spawns.
"""
from .blas import pin_environment

pin_environment()
