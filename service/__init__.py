"""Bone Health CDS: the application (domain, rules, cards, reminders, API, CLI)."""
