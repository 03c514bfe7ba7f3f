"""The pure trust core: evidence, policy, ledger, provider, introductions, paths.

No I/O lives here: no sockets, files, threads, clocks, logging or global randomness. Time comes in
as ``now`` (epochs), randomness as an explicit ``random.Random``. The Jobber server, the simulator,
the emulator and the tests all drive this same code.
"""
