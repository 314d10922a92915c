"""The pure core of the upload pipeline: model, rules and use cases.

Imports the standard library and attrs only; everything with I/O sits behind
the protocols in :mod:`domain.ports`.
"""
