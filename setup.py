"""Build the Cython routing core; everything else is plain Python (see pyproject.toml)."""

from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        path[:-4].replace("/", "."),
        [path],
        include_dirs=[np.get_include()],
        extra_compile_args=["-O3"],
        language="c++",
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(glob("planner/**/*.pyx", recursive=True))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        include_path=["."],
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
