"""QuantOpt Python package.

`quantopt.runtime` runs compiled bundles (.qob) through libquantrt's C API
with ctypes; see its docstring. `quantopt.perplexity` scores causal LM
bundles (also `python -m quantopt perplexity`); `quantopt.generate` (from
`quantopt.generation`) generates text through the runtime's decode loop
(also `python -m quantopt generate`).
"""

from . import runtime  # noqa: F401
from .runtime import (Bundle, QuantOptError, benchmark_stats,  # noqa: F401
                      cuda_device_name, kernel_isa, set_num_threads)
from .generation import generate  # noqa: F401


__all__ = ["runtime", "generate", "Bundle", "QuantOptError", "benchmark_stats",
           "cuda_device_name", "kernel_isa", "set_num_threads"]
