# -*- Python -*-
# lit configuration of QuantOpt's FileCheck tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QUANTOPT"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quantopt_obj_root, "test")
# Inputs/ holds generators and fixtures; unit/ and gpu/ have their own runners.
config.excludes = ["Inputs", "unit", "gpu", "e2e", "CMakeLists.txt",
                   "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(
    ("%make_model", config.python_executable + " " +
     os.path.join(config.quantopt_src_root,
                  "test/Import/ONNX/Inputs/make_model.py")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "PYTHONPATH"])
llvm_config.use_default_substitutions()

tool_dirs = [config.quantopt_tools_dir, config.llvm_tools_dir]
tools = ["quant-opt", "quant-translate", "quant-calibrate", "quant-compile",
         "quant-run", "qnn-gpu-kernel-check", "qnn-gpu-kernel-embed",
         "split-file"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
