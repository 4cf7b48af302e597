"""Health app: liveness of the database, broker, storage and workers."""
