"""Build the compiled kernels: csrc/*.c compiled into each Cython extension.

Environment switches (all pass through pip's build isolation):
  FASTLIN_NO_OPENMP=1       build serially even when the compiler supports OpenMP
  FASTLIN_REQUIRE_OPENMP=1  fail the build when OpenMP is not available
  FASTLIN_NATIVE=1          add -march=native (never in the default build: wheels must run anywhere)
  FASTLIN_DEBUG_CYTHON=1    bounds checking and wraparound on, for the debug test job
"""
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
CSRC = ["csrc/fl_activation.c", "csrc/fl_loss.c", "csrc/fl_optim.c", "csrc/fl_random.c",
        "csrc/fl_linear.c", "csrc/fl_scan.c"]
MODULES = {
    "_config": ["csrc/fl_cpu.c"],
    "_blas": [],
    "dense": ["csrc/fl_activation.c"],
    "activations": ["csrc/fl_activation.c"],
    "losses": ["csrc/fl_loss.c"],
    "optim": ["csrc/fl_optim.c"],
    "train": CSRC,
    "checks": ["csrc/fl_scan.c"],
}


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("FASTLIN_DEBUG_CYTHON")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": True,
    "embedsignature": True,
}

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) { printf("%d\\n", omp_get_max_threads()); return 0; }
    """
)


class BuildExt(build_ext):
    """Adds -O3, the OpenMP flags when a probe program compiles and links, and opt-in -march=native."""

    def _openmp_flags(self):
        if _flag("FASTLIN_NO_OPENMP"):
            print("fastlin: FASTLIN_NO_OPENMP set, building without OpenMP")
            return [], []
        if self.compiler.compiler_type == "msvc":
            return ["/openmp"], []
        compile_flags, link_flags = ["-fopenmp"], ["-fopenmp"]
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe_openmp.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            try:
                objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=compile_flags)
                self.compiler.link_executable(objs, "probe_openmp", output_dir=tmp,
                                              extra_postargs=link_flags)
            except Exception:  # CompileError/LinkError; their import path varies by setuptools version
                if _flag("FASTLIN_REQUIRE_OPENMP"):
                    raise RuntimeError("FASTLIN_REQUIRE_OPENMP is set but OpenMP does not compile and link")
                print("fastlin: OpenMP not available, building serial kernels")
                return [], []
        return compile_flags, link_flags

    def build_extensions(self):
        omp_compile, omp_link = self._openmp_flags()
        if self.compiler.compiler_type == "msvc":
            base = ["/O2"]
        else:
            # -fno-math-errno / -fno-trapping-math: we never read errno or FP exception flags, and
            # without them gcc keeps a branch per element and vectorizes no exp/compare loop.
            # Results are unchanged bit for bit (unlike -ffast-math, which fastlin never uses).
            # -fno-wrapv undoes the -fwrapv that Python's own CFLAGS add: with wrapping signed
            # indices gcc cannot count some loops' trips and leaves them scalar (softmax-CE on
            # 128 x 10 logits ran 1.2x slower). Neither our C nor Cython's output relies on it.
            base = ["-O3", "-g0", "-fno-math-errno", "-fno-trapping-math", "-fno-wrapv"]
            if _flag("FASTLIN_NATIVE"):
                base.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = base + omp_compile + list(ext.extra_compile_args or [])
            ext.extra_link_args = omp_link + list(ext.extra_link_args or [])
        super().build_extensions()


def _extensions():
    exts = []
    for name, csources in MODULES.items():
        exts.append(
            Extension(
                f"fastlin._kernels.{name}",
                sources=[f"fastlin/_kernels/{name}.pyx", *csources],
                include_dirs=["csrc", "fastlin/_kernels", numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    # force: the generated C depends on DIRECTIVES (debug or not), which timestamps cannot see.
    return cythonize(exts, compiler_directives=DIRECTIVES, include_path=["fastlin/_kernels"],
                     force=True)


if __name__ == "__main__" or "setuptools" in sys.modules:
    setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
