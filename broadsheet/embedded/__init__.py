"""The embedded default: a bundled Redis server and a local SMTP catcher for `broadsheet run`."""
