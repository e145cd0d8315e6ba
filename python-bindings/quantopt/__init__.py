"""QuantOpt Python package.

`quantopt.runtime` runs compiled bundles (.qob) through libquantrt's C API
with ctypes; see its docstring.
"""

from . import runtime  # noqa: F401
from .runtime import Bundle, QuantOptError, kernel_isa, set_num_threads  # noqa: F401

__all__ = ["runtime", "Bundle", "QuantOptError", "kernel_isa",
           "set_num_threads"]
