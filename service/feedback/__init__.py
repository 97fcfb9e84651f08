"""Feedback that acts: what an override quiets, the cards' drafts, and ``/suppressions``."""
