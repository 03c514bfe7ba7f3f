"""The emulated data center: the same scenario on a real network on one machine (DESIGN.md §2.6).

* ``topology`` — the pure description (tenants, hosts, services, the security stack, traffic,
  attacks, measurements) and its conversion to a simulator ``Scenario``;
  ``topology_file`` is its YAML edge.
* ``ovs``, ``network`` — the builder: a private Open vSwitch, namespaces, veths, the bridge; it
  records everything it creates (named ``jb…``) and removes it.
* ``middlebox`` — the security stack: a transparent bridge with a stateful nftables firewall
  whose log (NFLOG → ulogd) feeds the tenants' sensors.
* ``services``, ``probes`` — honest servers (http.server, OpenSSH, iperf3) and bounded clients.
* ``runner`` — builds, runs the scenario's phases, measures, collects the timeline, cleans up.
* ``report`` — the results table, the timeline, the JSON object and the figure.
"""
