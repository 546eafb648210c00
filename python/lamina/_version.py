"""The single source of lamina's version (read by scikit-build-core and CMake)."""

__version__ = "0.1.0"
