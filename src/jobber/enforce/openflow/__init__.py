"""The OpenFlow 1.3 Jobber client: a pure pipeline, a flow-table model, an os-ken app, a launcher.

* ``messages`` — the project's own OpenFlow messages (frozen dataclasses) and cookie layout;
* ``packet`` — parsing (and, for tests, building) the few headers the pipeline reads;
* ``hosts`` — which host (MAC, IPv4) sits where and belongs to which tenant (pure);
* ``pipeline`` — events + ``now`` in, messages and effects out; never imports os-ken;
* ``flowtable`` — a software model of a switch's tables that applies those messages;
* ``config`` — the controller's config file (pydantic, at the edge);
* ``worker`` — the asyncio thread that owns the Negotiator;
* ``app`` / ``launcher`` — the only modules that import os-ken.
"""
