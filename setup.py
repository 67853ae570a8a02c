"""The one compiled part of Balise: the PDQ index's probing kernel (docs/detection.md).

Everything else is declared in pyproject.toml. The extension is optional: without a C compiler
and Python's headers the install goes on, and the index probes with numpy alone (slower,
same answers)."""

import platform

from setuptools import Extension, setup

# popcnt is in every x86-64 CPU since 2008 (x86-64-v2); without the flag gcc calls a software routine.
_X86 = platform.machine().lower() in {"x86_64", "amd64"}

setup(
    ext_modules=[
        Extension(
            "balise.detection.adapters._pdq_probe",
            ["src/balise/detection/adapters/_pdq_probe.c"],
            extra_compile_args=["-O3", "-std=c99"] + (["-mpopcnt"] if _X86 else []),
            optional=True,
        )
    ]
)
