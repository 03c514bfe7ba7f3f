"""The Jobber client: obtains introductions (the negotiator) for the enforcement back-ends."""
