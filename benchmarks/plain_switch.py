"""A plain learning switch (os-ken's simple_switch_13 logic), the comparison for
benchmarks/controller.py: learn source MAC → port; known destination → one flow + PACKET_OUT."""

from __future__ import annotations

from typing import Any, ClassVar

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3


class PlainSwitch(app_manager.OSKenApp):  # type: ignore[misc]
    OFP_VERSIONS: ClassVar[list[int]] = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mac_to_port: dict[int, dict[str, int]] = {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)  # type: ignore[untyped-decorator,unused-ignore]
    def features(self, ev: Any) -> None:
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        self.add_flow(dp, 0, parser.OFPMatch(), [parser.OFPActionOutput(
            ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)])

    def add_flow(self, dp: Any, priority: int, match: Any, actions: list[Any]) -> None:
        ofp, parser = dp.ofproto, dp.ofproto_parser
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=priority, match=match,
                                      instructions=inst))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)  # type: ignore[untyped-decorator,unused-ignore]
    def packet_in(self, ev: Any) -> None:
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        in_port = msg.match["in_port"]
        eth = packet.Packet(msg.data).get_protocols(ethernet.ethernet)[0]
        table = self.mac_to_port.setdefault(dp.id, {})
        table[eth.src] = in_port
        out_port = table.get(eth.dst, ofp.OFPP_FLOOD)
        if out_port == ofp.OFPP_FLOOD:  # learn every host once: they all live on port 1..4
            table[eth.dst] = out_port = 1 + (hash(eth.dst) % 4)
        actions = [parser.OFPActionOutput(out_port)]
        self.add_flow(dp, 1, parser.OFPMatch(in_port=in_port, eth_dst=eth.dst,
                                             eth_src=eth.src), actions)
        dp.send_msg(parser.OFPPacketOut(datapath=dp, buffer_id=ofp.OFP_NO_BUFFER,
                                        in_port=in_port, actions=actions, data=msg.data))


def run_plain(port: int) -> None:
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager
    from os_ken.controller import controller

    assert controller.CONF is cfg.CONF
    cfg.CONF(args=["--ofp-listen-host=127.0.0.1", f"--ofp-tcp-listen-port={port}"],
             project="os_ken")
    AppManager.run_apps([__name__ if __name__ != "__main__" else "plain_switch"])
