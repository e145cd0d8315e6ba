"""QuantOpt Python package.

`quantopt.runtime` runs compiled bundles (.qob) through libquantrt's C API
with ctypes; see its docstring. `quantopt.perplexity` scores causal LM
bundles (also `python -m quantopt perplexity`).
"""

from . import runtime  # noqa: F401
from .runtime import (Bundle, QuantOptError, benchmark_stats,  # noqa: F401
                      cuda_device_name, kernel_isa, set_num_threads)

__all__ = ["runtime", "Bundle", "QuantOptError", "benchmark_stats",
           "cuda_device_name", "kernel_isa", "set_num_threads"]
