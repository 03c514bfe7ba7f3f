"""Followers: the I/O that brings lines to a sensor — a file tail and a syslog listener.

Parsers never do I/O; followers never parse. A follower hands raw lines (bytes) to whoever drives
it, normally ``Sensor.feed``.
"""

from jobber.sensors.follow.syslog import FramingError, SyslogListener, TcpFramer
from jobber.sensors.follow.tail import FileFollower, Line, Position

__all__ = ["FileFollower", "FramingError", "Line", "Position", "SyslogListener", "TcpFramer"]
