"""Start os-ken 4.2 with the Jobber app (os-ken 4 ships no launcher of its own).

``run(settings)`` registers os-ken's ``ofp-*`` options (importing its controller module does),
parses them with ``os_ken.cfg.CONF`` (listen host and port from the config — never port 0,
which os-ken reads as "6653 and 6633"), loads the app with ``AppManager`` and hands it its
collaborators as the ``jobber`` keyword argument of ``instantiate_apps``: the pipeline (with the
inventory and the middlebox attachments) and a factory for the Negotiator, which the worker
thread builds on its own asyncio loop. It blocks until SIGTERM or SIGINT, then stops the worker
(closing the negotiator's connections) and the apps, and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

from jobber.client.negotiator import Negotiator
from jobber.enforce.openflow.config import ControllerSettings
from jobber.enforce.openflow.pipeline import Pipeline

log = logging.getLogger("jobber.enforce.openflow")


class _Stop(Exception):
    pass


def run(settings: ControllerSettings) -> None:
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager  # before controller: os-ken's import order
    from os_ken.controller import controller

    assert controller.CONF is cfg.CONF  # importing it registered the ofp-* options

    from jobber.enforce.openflow.app import Wiring

    cfg.CONF(args=[f"--ofp-listen-host={settings.host}",
                   f"--ofp-tcp-listen-port={settings.port}"], project="os_ken")
    pipeline = Pipeline(settings.tenancy, settings.middleboxes, settings.pipeline,
                        first_serial=int(time.time()))

    def negotiator() -> Negotiator:
        return Negotiator(settings.servers, settings.provider_url,
                          timeout=settings.negotiation_timeout)

    wiring = Wiring(pipeline, negotiator)
    manager: Any = AppManager.get_instance()
    manager.load_apps(["jobber.enforce.openflow.app"])
    contexts = manager.create_contexts()

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    services: list[Any] = []
    try:
        services = manager.instantiate_apps(**contexts, jobber=wiring)
        log.info("jobber controller listening on %s:%d (%d tenants)", settings.host,
                 settings.port, len(pipeline.tenants))
        print(f"listening on {settings.host}:{settings.port}", flush=True)
        for thread in services:
            while thread.is_alive():
                thread.join(0.5)
    except _Stop as why:
        log.info("stopping (%s)", why)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        jobber = manager.applications.get("jobber")
        if jobber is not None:  # our worker and event thread; os-ken's own need no cleanup
            jobber.stop()
        logging.shutdown()
        sys.stdout.flush()
        # os-ken's server and connection threads are not daemons and cannot be joined from
        # outside: leave without waiting for them once our own state is closed.
        os._exit(0)
