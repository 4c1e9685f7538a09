"""Tests of the sandbox server (bspandas.sandbox), one file per concern."""
