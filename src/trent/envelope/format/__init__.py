"""Byte layouts of the Encryption SDK message (client-wire-formats.md §4.1)."""
