"""Build the compiled kernels: one extension module per fastlin/_kernels/*.pyx, linked with the
csrc/*.c files it uses.

How the build is kept short (issue 11; a fresh build on 2 cores went from ~2.5 min to well under
one, and `pip install -e ".[test]"` after `pip install -e .` compiles nothing):
  - Cython's utility code (memoryviews and the like, ~30k lines of C per module) is generated and
    compiled once, into the shared module fastlin._kernels._cyutility (Cython >= 3.1), instead of
    into each of the nine modules;
  - each csrc/*.c is compiled once and its object linked into every module that uses it;
  - Cython and the C compiler run in parallel, one job per available CPU (FASTLIN_BUILD_JOBS=N);
  - every module is cached by content under build/fastlin-cache/: when its inputs (its .pyx, the
    .pxd files, its csrc files and the csrc headers, this file, the flags, the compiler, the
    Python/Cython/NumPy/SciPy versions) are unchanged, the cached module is copied instead of
    rebuilt. This works across pip's build isolation, whose fresh temporary directories and
    freshly installed NumPy headers defeat timestamp checks. `rm -rf build` forces a full build;
    build/fastlin-build.log says what the last build compiled and what it reused.
The generated code and the flags are those of a one-module-at-a-time build: same -O3, same kernels,
same AVX2/AVX-512 variants.

Environment switches (all pass through pip's build isolation):
  FASTLIN_NO_OPENMP=1       build serially even when the compiler supports OpenMP
  FASTLIN_REQUIRE_OPENMP=1  fail the build when OpenMP does not compile and link
  FASTLIN_NATIVE=1          add -march=native (never in the default build: wheels must run anywhere)
  FASTLIN_DEBUG_CYTHON=1    bounds checking and wraparound on, for the debug test job
  FASTLIN_SANITIZE=1        AddressSanitizer + UndefinedBehaviorSanitizer (compile and link, -O1),
                            any report aborts; implies FASTLIN_REQUIRE_OPENMP. Python is not
                            instrumented: run with the runtimes preloaded, as .ci/run does.
  FASTLIN_BUILD_JOBS=N      parallel compile jobs (default: the CPUs this process may use)
"""
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
CACHE = BUILD / "fastlin-cache"
LOG = BUILD / "fastlin-build.log"
SHARED_UTILITY = "fastlin._kernels._cyutility"
MODULES = {
    "_codes": [],
    "_config": ["csrc/fl_cpu.c"],
    "_blas": ["csrc/fl_gemm_small.c"],
    "dense": ["csrc/fl_activation.c"],
    "activations": ["csrc/fl_activation.c"],
    "losses": ["csrc/fl_loss.c"],
    "optim": ["csrc/fl_optim.c"],
    "train": ["csrc/fl_activation.c", "csrc/fl_loss.c", "csrc/fl_optim.c", "csrc/fl_random.c",
              "csrc/fl_linear.c", "csrc/fl_scan.c"],
    "checks": ["csrc/fl_scan.c"],
    "linear_cd": [],
    "sparse": ["csrc/fl_sparse.c"],
}
CACHE_KEEP = 3  # cached builds kept per module (e.g. the normal, debug and sanitizer builds)


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("FASTLIN_DEBUG_CYTHON")
SANITIZE = _flag("FASTLIN_SANITIZE")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": True,
    "embedsignature": True,
}
# Compile and link flags of the sanitizer build. -fno-sanitize-recover=all makes every UBSan
# report abort like an ASan one, so no report can scroll by in a passing run; -g1 gives the
# reports file:line. float-cast-overflow is not part of gcc's "undefined" group; it catches a
# NaN or out-of-range float converted to an integer. -O1 (after -O3, so it wins), as ASan's
# documentation recommends: the checks are inserted per source-level access whatever the level,
# and the instrumented build compiles 2.5x faster than at -O3 (about 60 instead of 150 CPU
# seconds here), which keeps the CI job short.
SANITIZE_COMPILE = ["-O1", "-fsanitize=address,undefined,float-cast-overflow",
                    "-fno-omit-frame-pointer", "-fno-sanitize-recover=all", "-g1"]
SANITIZE_LINK = ["-fsanitize=address,undefined,float-cast-overflow"]

PLAIN_PROBE = "int main(void) { return 0; }\n"
OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) { printf("%d\\n", omp_get_max_threads()); return 0; }
    """
)


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def _files_digest(paths):
    return _digest(*[(str(p.relative_to(HERE)), p.read_bytes()) for p in sorted(paths)])


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return None


class BuildExt(build_ext):
    """-O3 and the OpenMP/sanitizer flags; a content-addressed cache; a parallel build in which
    every csrc file and Cython's utility code are compiled once."""

    # ---- flags ------------------------------------------------------------------------------

    def _probe(self, source, compile_flags, link_flags):
        """Compile and link `source` as a program with the extensions' flags. Returns None on
        success, else the compiler's complaint (its output is captured, not lost)."""
        # compiler_so holds CC, Python's CFLAGS and the environment's CFLAGS; the environment's
        # LDFLAGS reach the modules' link line, so the probe's too.
        env_ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(source)
            cmd = [*self.compiler.compiler_so, *compile_flags, src, "-o", os.path.join(tmp, "probe"),
                   *link_flags, *env_ldflags]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                return f"{shlex.join(cmd)}\n{result.stdout}{result.stderr}".strip()
        return None

    def _flags(self):
        """(compile, link) flags added to every module; fails loudly when they do not work."""
        if self.compiler.compiler_type == "msvc":
            if SANITIZE:
                raise RuntimeError("FASTLIN_SANITIZE is for gcc/clang builds")
            return ["/O2"] + ([] if _flag("FASTLIN_NO_OPENMP") else ["/openmp"]), []
        # -fno-math-errno / -fno-trapping-math: we never read errno or FP exception flags, and
        # without them gcc keeps a branch per element and vectorizes no exp/compare loop.
        # Results are unchanged bit for bit (unlike -ffast-math, which fastlin never uses).
        # -fno-wrapv undoes the -fwrapv that Python's own CFLAGS add: with wrapping signed
        # indices gcc cannot count some loops' trips and leaves them scalar (softmax-CE on
        # 128 x 10 logits ran 1.2x slower). Neither our C nor Cython's output relies on it.
        compile_flags = ["-O3", "-g0", "-fno-math-errno", "-fno-trapping-math", "-fno-wrapv"]
        link_flags = []
        if _flag("FASTLIN_NATIVE"):
            compile_flags.append("-march=native")
        if SANITIZE:
            compile_flags += SANITIZE_COMPILE
            link_flags += SANITIZE_LINK
        # The probes use the very flags the modules get: a probe built without them (as before)
        # failed to link once -fsanitize was added, and the build silently went serial.
        error = self._probe(PLAIN_PROBE, compile_flags, link_flags)
        if error:
            raise RuntimeError("fastlin: the compiler cannot build a program with the build's "
                               f"flags:\n{error}")
        if _flag("FASTLIN_NO_OPENMP"):
            if SANITIZE:
                raise RuntimeError("FASTLIN_SANITIZE checks the OpenMP build; unset FASTLIN_NO_OPENMP")
            print("fastlin: FASTLIN_NO_OPENMP set, building without OpenMP")
            return compile_flags, link_flags
        error = self._probe(OPENMP_PROBE, compile_flags + ["-fopenmp"], link_flags + ["-fopenmp"])
        if error:
            if _flag("FASTLIN_REQUIRE_OPENMP") or SANITIZE:
                raise RuntimeError("fastlin: OpenMP is required (FASTLIN_REQUIRE_OPENMP or "
                                   f"FASTLIN_SANITIZE) but does not compile and link:\n{error}")
            print(f"fastlin: WARNING: OpenMP not available, building serial kernels:\n{error}",
                  file=sys.stderr)
            return compile_flags, link_flags
        return compile_flags + ["-fopenmp"], link_flags + ["-fopenmp"]

    # ---- plan -------------------------------------------------------------------------------

    def _jobs(self):
        jobs = os.environ.get("FASTLIN_BUILD_JOBS", "").strip()
        if jobs:
            if not jobs.isdigit() or int(jobs) < 1:
                raise RuntimeError(f"FASTLIN_BUILD_JOBS must be a positive integer, got {jobs!r}")
            return int(jobs)
        if self.parallel:
            return max(1, int(self.parallel))
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1

    def _config_key(self, compile_flags, link_flags):
        """Everything besides the source files that shapes the compiled modules."""
        cc = self.compiler.compiler_so if self.compiler.compiler_type != "msvc" else ["msvc"]
        try:
            cc_version = subprocess.run([cc[0], "--version"], capture_output=True, text=True).stdout
        except OSError:
            cc_version = None
        return _digest(
            (HERE / "setup.py").read_bytes(), sys.version, sysconfig.get_config_var("EXT_SUFFIX"),
            cc, getattr(self.compiler, "linker_so", None), cc_version, compile_flags, link_flags,
            sorted(DIRECTIVES.items()), _version("Cython"), _version("numpy"), _version("scipy"),
        )

    def build_extensions(self):
        self.check_extensions_list(self.extensions)
        import numpy

        start = time.perf_counter()
        compile_flags, link_flags = self._flags()
        config = self._config_key(compile_flags, link_flags)
        shared_inputs = [*HERE.glob("fastlin/**/*.pxd"), *HERE.glob("csrc/*.h")]
        self._work = BUILD / "fastlin-tmp" / config
        if self._work.exists():
            os.utime(self._work)  # most recently used: kept by _prune_cache
        self._compile_flags, self._link_flags = compile_flags, link_flags
        self._include_dirs = [str(HERE / "csrc"), str(HERE / "fastlin" / "_kernels"),
                              numpy.get_include()]
        CACHE.mkdir(parents=True, exist_ok=True)

        log, todo = [], []
        for ext in self.extensions:
            # Cython's utility module depends on the configuration alone (Cython's version, the
            # directives, the flags); a kernel module on its sources and every .pxd and header.
            inputs = [HERE / s for s in ext.sources] + (shared_inputs if ext.sources else [])
            key = _digest(config, ext.name, _files_digest(inputs))
            cached = CACHE / f"{ext.name.rsplit('.', 1)[1]}-{key}{Path(self.get_ext_filename(ext.name)).suffix}"
            target = Path(self.get_ext_fullpath(ext.name))
            if cached.exists() and not self.force:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(cached, target)
                os.utime(cached)  # most recently used: kept by the pruning below
                log.append(f"reused {ext.name} from {cached.relative_to(HERE)}")
            else:
                todo.append((ext, cached, target))
        if todo:
            self._steps = []  # (what, seconds) per compile step, for the log
            self._build_parallel(todo, config)
            log += [f"built {ext.name}" for ext, _, _ in todo]
            log += [f"  {what}: {seconds:.1f} s" for what, seconds in self._steps]
        self._prune_cache()
        summary = (f"fastlin: {len(todo)} of {len(self.extensions)} modules compiled, "
                   f"{len(self.extensions) - len(todo)} reused from build/fastlin-cache "
                   f"({time.perf_counter() - start:.1f} s, {self._jobs()} jobs)")
        print(summary)
        LOG.write_text("\n".join([summary, *log]) + "\n")

    # ---- build ------------------------------------------------------------------------------

    def _build_parallel(self, todo, config):
        work = self._work
        (work / "obj").mkdir(parents=True, exist_ok=True)
        (work / "cython").mkdir(parents=True, exist_ok=True)
        csrc = sorted({s for ext, _, _ in todo for s in ext.sources if s.endswith(".c")},
                      key=lambda s: -(HERE / s).stat().st_size)  # longest first
        # Biggest first (Cython's utility code, then by .pyx size), so that the last job to
        # finish is a short one.
        def cost(ext):
            pyx = [HERE / s for s in ext.sources if s.endswith(".pyx")]
            return sum(p.stat().st_size for p in pyx) if pyx else float("inf")

        todo = sorted(todo, key=lambda t: -cost(t[0]))
        with ThreadPoolExecutor(self._jobs()) as pool:
            # The object jobs are queued first: a module job waiting for them never blocks the
            # pool, because every object job has been picked up before any module job starts.
            objects = {s: pool.submit(self._compile_csrc, s, config) for s in csrc}
            modules = [pool.submit(self._build_module, ext, cached, target, objects)
                       for ext, cached, target in todo]
            for future in [*objects.values(), *modules]:
                future.result()

    def _compile(self, source, out_dir, macros):
        return self.compiler.compile([str(source)], output_dir=str(out_dir), macros=macros,
                                     include_dirs=self._include_dirs,
                                     extra_postargs=self._compile_flags)

    def _compile_csrc(self, source, config):
        """One object per csrc file and configuration, shared by the modules and by later builds
        (keyed by the file, the headers it may include, and the configuration)."""
        key = _digest(config, _files_digest([HERE / source, *HERE.glob("csrc/*.h")]))
        done = self._work / "obj" / f"{Path(source).stem}-{key}"
        if not done.exists():
            part = done.with_name(done.name + f".part{os.getpid()}")
            shutil.rmtree(part, ignore_errors=True)
            t0 = time.perf_counter()
            self._compile(HERE / source, part, [])
            self._steps.append((f"cc {source}", time.perf_counter() - t0))
            try:
                os.replace(part, done)
            except OSError:  # a concurrent build of the same tree finished it first
                shutil.rmtree(part, ignore_errors=True)
        objects = list(done.rglob("*.o")) + list(done.rglob("*.obj"))
        assert len(objects) == 1, objects
        return str(objects[0])

    def _cythonize(self, ext):
        """Generate the module's C with the Cython command line (a subprocess, so several run at
        once), in this process's environment (pip's isolated build env included)."""
        name = ext.name.rsplit(".", 1)[1]
        c_file = self._work / "cython" / f"{name}.c"
        directives = ",".join(f"{k}={v}" for k, v in DIRECTIVES.items() if k != "language_level")
        cmd = [sys.executable, "-c", "import sys; from Cython.Compiler.Main import setuptools_main;"
               " sys.exit(setuptools_main())", f"-{DIRECTIVES['language_level']}",
               "--directive", directives, "--fast-fail"]
        if ext.name == SHARED_UTILITY:
            cmd += ["--module-name", ext.name, "--generate-shared", str(c_file)]
        else:
            (pyx,) = [s for s in ext.sources if s.endswith(".pyx")]
            cmd += ["-I", str(HERE), "-I", str(HERE / "fastlin" / "_kernels"),
                    "--shared", SHARED_UTILITY, "--module-name", ext.name,
                    str(HERE / pyx), "-o", str(c_file)]
        c_file.unlink(missing_ok=True)  # so that a failed run cannot leave an old file behind
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        result = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not c_file.exists():
            sys.stderr.write(result.stdout + result.stderr)
            raise RuntimeError(f"fastlin: Cython failed on {ext.name}: {shlex.join(cmd)}")
        if result.stderr.strip():
            sys.stderr.write(result.stderr)
        return c_file

    def _build_module(self, ext, cached, target, objects):
        t0 = time.perf_counter()
        c_file = self._cythonize(ext)
        t1 = time.perf_counter()
        obj_dir = self._work / "mod" / ext.name
        shutil.rmtree(obj_dir, ignore_errors=True)
        own = self._compile(c_file, obj_dir, ext.define_macros)
        self._steps += [(f"cython {ext.name}", t1 - t0), (f"cc {ext.name}", time.perf_counter() - t1)]
        shared = [objects[s].result() for s in ext.sources if s.endswith(".c")]
        linked = obj_dir / f"linked{cached.suffix}"
        self.compiler.link_shared_object(
            own + shared, str(linked), libraries=self.get_libraries(ext),
            library_dirs=ext.library_dirs, runtime_library_dirs=ext.runtime_library_dirs,
            extra_postargs=self._link_flags, export_symbols=self.get_export_symbols(ext),
            build_temp=str(obj_dir), target_lang="c")
        part = cached.with_name(cached.name + f".part{os.getpid()}")
        shutil.copyfile(linked, part)
        os.replace(part, cached)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)

    def _prune_cache(self):
        """Keep the CACHE_KEEP most recently used builds of each module, and as many
        configurations' intermediate files (generated C, objects)."""
        by_module = {}
        for path in CACHE.iterdir():
            by_module.setdefault(path.name.split("-", 1)[0], []).append(path)
        for paths in by_module.values():
            paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in paths[CACHE_KEEP:]:
                stale.unlink(missing_ok=True)
        work = sorted((BUILD / "fastlin-tmp").glob("*"), key=lambda p: p.stat().st_mtime,
                      reverse=True)
        for stale in work[CACHE_KEEP:]:
            shutil.rmtree(stale, ignore_errors=True)


def _extensions():
    common = dict(
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        include_dirs=["csrc", "fastlin/_kernels"],  # numpy's is added at build time
    )
    exts = [Extension(SHARED_UTILITY, sources=[], **common)]
    for name, csources in MODULES.items():
        exts.append(Extension(f"fastlin._kernels.{name}",
                              sources=[f"fastlin/_kernels/{name}.pyx", *csources], **common))
    return exts


if __name__ == "__main__" or "setuptools" in sys.modules:
    setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
