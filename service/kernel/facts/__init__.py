"""Each topic's facts: what its rule concludes about the patient and its card quotes, one frozen
dataclass per topic (or per family of topics that share their facts), one module per clinical area."""
