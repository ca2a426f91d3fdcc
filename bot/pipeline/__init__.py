"""The pipeline: a poll pass (sources to stored articles, queued for the engine), the engine's partitions
(inbox to developments and stories), and the fan-out of their events to the outbox."""
