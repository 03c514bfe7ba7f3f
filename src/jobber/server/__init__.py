"""The Jobber server: signed wire envelopes, HTTP API, store, peers and runtime (DESIGN.md §2.3).

Importing this package imports nothing heavy; each module pulls in what it needs.
"""
