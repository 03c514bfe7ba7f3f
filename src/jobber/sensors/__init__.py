"""Sensors: real logs in, standard events out, verdicts by rules, one feedback per interaction.

    source ──follower (follow/: file tail, syslog listener; I/O)──► lines
    lines ──parser (parsers/: pure, one line at a time)──► Event (event.py)
    events ──RuleEngine (rules.py, rules from ruleset.py; event time only)──► Verdict
    verdicts ──feedback (feedback.py; pure)──► Severity | None for one interaction

``Sensor`` (sensor.py) ties a parser to a rule engine and counts every line exactly once.
Invariants: parsers and rules never do I/O and never raise on bad input (it is counted);
followers never parse. See docs/sensors.md for operators.
"""
