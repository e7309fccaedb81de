"""Builds each model's model.tar.gz in SageMaker's PyTorch layout: reproducible, fast, cached."""

from bundler.cache import Bundle, build
from bundler.layout import BundleError, BundleSpec

__all__ = ["Bundle", "BundleError", "BundleSpec", "build"]
