"""The process a platform team runs: webhook intake, workers, poller and relay around one store."""
