"""Enforcement: the Jobber client's back-ends that turn Grants into network state.

Only the OpenFlow back-end exists so far (``jobber.enforce.openflow``): an os-ken app whose
logic is a pure pipeline (inputs and a timestamp in, OpenFlow messages out) and whose tests run
that pipeline against a software flow table before the integration tests run it against Open
vSwitch.
"""
