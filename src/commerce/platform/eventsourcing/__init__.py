"""Event sourcing, store side: streams, stored events, codecs, snapshots and upcasters."""
