"""Two-way sync: turning remote events into canonical decisions (engine), performing the side
effects those decisions imply (relay), and reconciling what webhooks missed (poller)."""
