"""Sealed documents kept in the database, so every app server reads the same ones.

The table holds pieces of the cbdoc v1 format of ``crypto.files`` (piece 0 the header,
piece i the sealed segment i-1); the sealing, the opening and the storage class live in
``crypto.database``. Part of the foundation: it imports no app above it.
"""
