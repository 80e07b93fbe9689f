"""Local stand-ins for the services SnoozeDB talks to, for tests and the offline demo.

They answer over real HTTP on 127.0.0.1 and refuse what the real service refuses, so
the bot runs against them unchanged.
"""
