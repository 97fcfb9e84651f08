"""Reminders: time-bound findings become rows, beat dispatches the due ones, workers deliver them."""
